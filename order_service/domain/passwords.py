"""The password policy: at least 8 characters, not blank, not one of the most common passwords,
not the username. Pure: `password_weakness` says what is wrong, or None."""

MIN_LENGTH = 8

# The most common passwords of public breach lists (SecLists' top lists, NCSC's 100k list head),
# those of 8 characters or more, lowercased: what a guesser tries first.
_COMMON = """
    12345678 123456789 1234567890 password password1 password123 passw0rd p@ssw0rd p@ssword
    qwertyuiop qwerty123 qwerty12 1qaz2wsx 1q2w3e4r 1q2w3e4r5t 1qaz2wsx3edc qazwsxedc zaq12wsx
    11111111 00000000 88888888 12341234 87654321 11223344 12121212 66666666 99999999 22222222
    123123123 147258369 987654321 159357456 123456789a 12345678a a1234567 abcd1234 abc12345
    aa123456 asdfghjkl zxcvbnm1 iloveyou iloveyou1 iloveyou2 princess sunshine football
    baseball superman starwars whatever trustno1 letmein1 welcome1 welcome123 admin123
    administrator changeme michelle jennifer computer internet corvette mercedes samantha
    1234qwer qwer1234 q1w2e3r4 q1w2e3r4t5 asdf1234 zxcv1234 qwertyui asdfasdf football1
    woaini1314 5201314520 a123456789 qq123456789 wang1234 li123456 31415926 chocolate
    butterfly jordan23 blink182 liverpool arsenal1 charlie1 michael1 master12 dragon12
    monkey12 shadow12 secret12 secret123 access14 hello123 loveyou1 1234abcd abcdefgh
"""
COMMON_PASSWORDS = frozenset(_COMMON.split())


def password_weakness(password: str, username: str = "") -> str | None:
    if not password.strip():
        return "The password is blank."
    if len(password) < MIN_LENGTH:
        return f"The password must have at least {MIN_LENGTH} characters."
    if password.lower() in COMMON_PASSWORDS:
        return "The password is one of the most common passwords; choose another."
    if username and password.lower() == username.lower():
        return "The password must not be the username."
    return None
