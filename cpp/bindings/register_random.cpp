#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstdint>

#include "../rng/fills.hpp"
#include "../rng/kernels.hpp"
#include "../rng/random_bits.hpp"
#include "arrays.hpp"

namespace fastnn::bindings {
namespace {

// Through the kernel set in use, so the known-answer tests check the SIMD Philox of each path.
std::array<std::uint32_t, 4> philox(const std::array<std::uint32_t, 4>& counter, const std::array<std::uint32_t, 2>& key) {
  std::array<std::uint32_t, 4> out;
  rng_kernels().philox_blocks(counter.data(), key.data(), 1, out.data());
  return out;
}

void random_bits(py::array out, std::uint64_t seed, std::uint64_t offset) {
  auto* data = contiguous_output<std::uint32_t>(out, "out");
  const index_t count = out.size();
  py::gil_scoped_release release;
  random_words_parallel(seed, offset, count, data);
}

// fill(out, a, b, seed, offset) for the fills with two real parameters.
template <template <class> class Fill>
void register_fill(py::module_& m, const char* name) {
  m.def(
      name,
      [](py::array out, double a, double b, std::uint64_t seed, std::uint64_t offset) {
        dispatch_float(out, "out", [&](auto tag) {
          using T = decltype(tag);
          T* data = contiguous_output<T>(out, "out");
          const index_t count = out.size();
          py::gil_scoped_release release;
          Fill<T>::run(data, count, a, b, seed, offset);
        });
      },
      py::arg("out"), py::arg("a"), py::arg("b"), py::arg("seed"), py::arg("offset"));
}

template <class T>
struct Uniform {
  static void run(T* o, index_t n, double a, double b, std::uint64_t s, std::uint64_t off) { fill_uniform<T>(o, n, a, b, s, off); }
};
template <class T>
struct Normal {
  static void run(T* o, index_t n, double a, double b, std::uint64_t s, std::uint64_t off) { fill_normal<T>(o, n, a, b, s, off); }
};
template <class T>
struct TruncatedNormal {
  static void run(T* o, index_t n, double a, double b, std::uint64_t s, std::uint64_t off) {
    fill_truncated_normal<T>(o, n, a, b, s, off);
  }
};

}  // namespace

void register_random(py::module_& m) {
  m.def("philox4x32", &philox, py::arg("counter"), py::arg("key"));
  m.def("random_bits", &random_bits, py::arg("out"), py::arg("seed"), py::arg("offset"));
  register_fill<Uniform>(m, "fill_uniform");
  register_fill<Normal>(m, "fill_normal");
  register_fill<TruncatedNormal>(m, "fill_truncated_normal");
}

}  // namespace fastnn::bindings
