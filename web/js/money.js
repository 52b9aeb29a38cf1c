// Money arrives as a string with two decimals ("12.50"). Sums are done in integer cents, never floats.

export function toCents(amount) {
  const [yuan, fraction = ""] = String(amount).split(".");
  const sign = yuan.startsWith("-") ? -1 : 1;
  return sign * (Math.abs(Number(yuan)) * 100 + Number(fraction.padEnd(2, "0").slice(0, 2)));
}

export function formatCents(cents) {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}¥${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

export function formatMoney(amount) {
  return formatCents(toCents(amount));
}
