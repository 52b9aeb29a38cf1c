"""Test data every suite (and the benchmarks) uses: one valid delivery address."""

ADDRESS = {
    "receiver": "Li Lei",
    "mobile": "13800138000",
    "province": "Zhejiang",
    "city": "Hangzhou",
    "district": "Xihu",
    "place": "1 Wensan Road",
}
