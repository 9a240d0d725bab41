#include "features.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FASTNN_X86_CPUID 1
#include <cpuid.h>
#endif

namespace fastnn {
namespace {

#if defined(FASTNN_X86_CPUID)
struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned subleaf = 0) {
  Regs r;
  __cpuid_count(leaf, subleaf, r.a, r.b, r.c, r.d);
  return r;
}

std::uint64_t xgetbv0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t(hi) << 32) | lo;
}

CpuFeatures detect_features() {
  CpuFeatures f;
  const Regs id0 = cpuid(0);
  char vendor[13] = {};
  std::memcpy(vendor + 0, &id0.b, 4);
  std::memcpy(vendor + 4, &id0.d, 4);
  std::memcpy(vendor + 8, &id0.c, 4);
  f.vendor = vendor;

  if (cpuid(0x80000000).a >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      const Regs r = cpuid(0x80000002 + i);
      std::memcpy(brand + 16 * i + 0, &r.a, 4);
      std::memcpy(brand + 16 * i + 4, &r.b, 4);
      std::memcpy(brand + 16 * i + 8, &r.c, 4);
      std::memcpy(brand + 16 * i + 12, &r.d, 4);
    }
    f.brand = brand;
    const auto first = f.brand.find_first_not_of(' ');
    f.brand = first == std::string::npos ? std::string() : f.brand.substr(first);
  }

  if (id0.a < 7) return f;
  const Regs id1 = cpuid(1);
  const bool osxsave = (id1.c >> 27) & 1, fma = (id1.c >> 12) & 1, avx = (id1.c >> 28) & 1;
  if (!osxsave || !avx) return f;
  const std::uint64_t xcr0 = xgetbv0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;     // SSE and AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;   // plus opmask and both ZMM halves
  const Regs id7 = cpuid(7, 0);
  const bool avx2 = (id7.b >> 5) & 1;
  const bool avx512f = (id7.b >> 16) & 1, avx512dq = (id7.b >> 17) & 1;
  const bool avx512bw = (id7.b >> 30) & 1, avx512vl = (id7.b >> 31) & 1;
  f.avx2 = os_ymm && avx2 && fma;
  f.avx512 = f.avx2 && os_zmm && avx512f && avx512dq && avx512bw && avx512vl;
  return f;
}
#else
CpuFeatures detect_features() { return CpuFeatures{}; }
#endif

// Parses sysfs sizes such as "48K" or "2048K"; returns 0 when unreadable.
index_t read_sysfs_size(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text.empty()) return 0;
  index_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) value = value * 10 + (text[i] - '0');
  if (i < text.size() && (text[i] == 'K' || text[i] == 'k')) value *= 1024;
  if (i < text.size() && (text[i] == 'M' || text[i] == 'm')) value *= 1024 * 1024;
  return value;
}

std::string read_sysfs_word(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  in >> text;
  return text;
}

CacheSizes detect_caches() {
  CacheSizes sizes;  // defaults, used for whatever cannot be read
  bool found_l1 = false, found_l2 = false, found_l3 = false;
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    const std::string type = read_sysfs_word(dir + "type");
    if (type.empty()) break;
    const std::string level = read_sysfs_word(dir + "level");
    const index_t size = read_sysfs_size(dir + "size");
    if (size <= 0 || type == "Instruction") continue;
    if (level == "1") { sizes.l1d = size; found_l1 = true; }
    if (level == "2") { sizes.l2 = size; found_l2 = true; }
    if (level == "3") { sizes.l3 = size; found_l3 = true; }
  }
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  const auto from_sysconf = [](int name, index_t& field, bool found) {
    const long value = sysconf(name);
    if (!found && value > 0) field = value;
  };
  from_sysconf(_SC_LEVEL1_DCACHE_SIZE, sizes.l1d, found_l1);
  from_sysconf(_SC_LEVEL2_CACHE_SIZE, sizes.l2, found_l2);
  from_sysconf(_SC_LEVEL3_CACHE_SIZE, sizes.l3, found_l3);
#else
  (void)found_l1; (void)found_l2; (void)found_l3;
#endif
  return sizes;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect_features();
  return features;
}

const CacheSizes& cache_sizes() {
  static const CacheSizes sizes = detect_caches();
  return sizes;
}

}  // namespace fastnn
