#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "../ops/affine_resample.hpp"
#include "arrays.hpp"

namespace fastnn::bindings {
namespace {

FillMode parse_fill_mode(const std::string& name) {
  if (name == "reflect") return FillMode::reflect;
  if (name == "constant") return FillMode::constant;
  if (name == "nearest") return FillMode::nearest;
  if (name == "wrap") return FillMode::wrap;
  throw std::invalid_argument("Argument `fill_mode` must be one of 'reflect', 'constant', 'nearest', 'wrap'. Received: '" +
                              name + "'");
}

// The operands of a resampling, forward or backward: `in` and `out` (batch, height, width,
// channels) of one float dtype, `matrices` float64 (batch, 6) and finite (the kernels convert
// sample points to indices: a NaN or infinite entry would make that undefined).
template <class T>
struct Resampling {
  index_t n, h, w, c;
  const T* in;
  T* out;
  const double* matrices;
  FillMode mode;

  Resampling(const py::array& in_array, const char* in_name, py::array& out_array, const char* out_name,
             const py::array& matrix_array, const std::string& fill_mode) {
    if (in_array.ndim() != 4) {
      throw std::invalid_argument(std::string("Argument `") + in_name +
                                  "` must be (batch, height, width, channels). Received shape " + shape_of(in_array));
    }
    n = in_array.shape(0), h = in_array.shape(1), w = in_array.shape(2), c = in_array.shape(3);
    require_shape(out_array, out_name, {n, h, w, c});
    require_shape(matrix_array, "matrices", {n, 6});
    in = contiguous_input<T>(in_array, in_name);
    matrices = contiguous_input<double>(matrix_array, "matrices");
    if (!std::all_of(matrices, matrices + 6 * n, [](double v) { return std::isfinite(v); })) {
      throw std::invalid_argument("Argument `matrices` must be finite");
    }
    out = contiguous_output<T>(out_array, out_name);
    mode = parse_fill_mode(fill_mode);
  }
};

void affine_resample_binding(const py::array& x, py::array out, const py::array& matrices, const std::string& fill_mode,
                             double fill_value) {
  dispatch_float(out, "out", [&](auto tag) {
    using T = decltype(tag);
    const Resampling<T> r(x, "x", out, "out", matrices, fill_mode);
    py::gil_scoped_release release;
    affine_resample<T>(r.in, r.out, r.n, r.h, r.w, r.c, r.matrices, r.mode, T(fill_value));
  });
}

void affine_resample_backward_binding(const py::array& dy, py::array dx, const py::array& matrices,
                                      const std::string& fill_mode) {
  dispatch_float(dx, "dx", [&](auto tag) {
    using T = decltype(tag);
    const Resampling<T> r(dy, "dy", dx, "dx", matrices, fill_mode);
    py::gil_scoped_release release;
    affine_resample_backward<T>(r.in, r.out, r.n, r.h, r.w, r.c, r.matrices, r.mode);
  });
}

}  // namespace

void register_augment(py::module_& m) {
  using namespace pybind11::literals;
  m.def("affine_resample", &affine_resample_binding, "x"_a, "out"_a, "matrices"_a, "fill_mode"_a, "fill_value"_a);
  m.def("affine_resample_backward", &affine_resample_backward_binding, "dy"_a, "dx"_a, "matrices"_a, "fill_mode"_a);
}

}  // namespace fastnn::bindings
