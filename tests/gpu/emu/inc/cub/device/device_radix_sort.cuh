/* device_radix_sort.cuh — CPU stand-in for CUB's stable radix sort (tests/gpu/emu). */
#include "../../emu.h"
#include <vector>
#include <algorithm>
namespace cub {
struct DeviceRadixSort {
  template <typename K, typename V>
  static cudaError_t SortPairs (void *tmp, size_t &bytes, const K *kin, K *kout, const V *vin, V *vout, int n, int, int, cudaStream_t)
  {
    if (!tmp) { bytes = 16; return 0; }
    std::vector<std::pair<K, V>> v (n);
    for (int i = 0; i < n; i++) v[i] = { kin[i], vin[i] };
    std::stable_sort (v.begin (), v.end (), [] (const std::pair<K, V> &a, const std::pair<K, V> &b) { return a.first < b.first; });
    for (int i = 0; i < n; i++) { kout[i] = v[i].first; vout[i] = v[i].second; }
    return 0;
  }
};
}
