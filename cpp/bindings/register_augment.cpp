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

// x, out: (batch, height, width, channels); matrices: float64 (batch, 6).
void affine_resample_binding(const py::array& x, py::array out, const py::array& matrices, const std::string& fill_mode,
                             double fill_value) {
  dispatch_float(out, "out", [&](auto tag) {
    using T = decltype(tag);
    if (x.ndim() != 4) throw std::invalid_argument("Argument `x` must be (batch, height, width, channels). Received shape " + shape_of(x));
    const index_t n = x.shape(0), h = x.shape(1), w = x.shape(2), c = x.shape(3);
    require_shape(out, "out", {n, h, w, c});
    require_shape(matrices, "matrices", {n, 6});
    const T* src = contiguous_input<T>(x, "x");
    const double* m = contiguous_input<double>(matrices, "matrices");
    // The kernel converts sample points to indices: a NaN or infinite entry would make that undefined.
    if (!std::all_of(m, m + 6 * n, [](double v) { return std::isfinite(v); })) {
      throw std::invalid_argument("Argument `matrices` must be finite");
    }
    T* dst = contiguous_output<T>(out, "out");
    const FillMode mode = parse_fill_mode(fill_mode);
    py::gil_scoped_release release;
    affine_resample<T>(src, dst, n, h, w, c, m, mode, T(fill_value));
  });
}

// dy, dx: (batch, height, width, channels); matrices: float64 (batch, 6), as the forward's.
void affine_resample_backward_binding(const py::array& dy, py::array dx, const py::array& matrices,
                                      const std::string& fill_mode) {
  dispatch_float(dx, "dx", [&](auto tag) {
    using T = decltype(tag);
    if (dy.ndim() != 4) {
      throw std::invalid_argument("Argument `dy` must be (batch, height, width, channels). Received shape " + shape_of(dy));
    }
    const index_t n = dy.shape(0), h = dy.shape(1), w = dy.shape(2), c = dy.shape(3);
    require_shape(dx, "dx", {n, h, w, c});
    require_shape(matrices, "matrices", {n, 6});
    const T* src = contiguous_input<T>(dy, "dy");
    const double* m = contiguous_input<double>(matrices, "matrices");
    if (!std::all_of(m, m + 6 * n, [](double v) { return std::isfinite(v); })) {
      throw std::invalid_argument("Argument `matrices` must be finite");
    }
    T* dst = contiguous_output<T>(dx, "dx");
    const FillMode mode = parse_fill_mode(fill_mode);
    py::gil_scoped_release release;
    affine_resample_backward<T>(src, dst, n, h, w, c, m, mode);
  });
}

}  // namespace

void register_augment(py::module_& m) {
  using namespace pybind11::literals;
  m.def("affine_resample", &affine_resample_binding, "x"_a, "out"_a, "matrices"_a, "fill_mode"_a, "fill_value"_a);
  m.def("affine_resample_backward", &affine_resample_backward_binding, "dy"_a, "dx"_a, "matrices"_a, "fill_mode"_a);
}

}  // namespace fastnn::bindings
