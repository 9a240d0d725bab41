#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "../ops/batch_norm.hpp"
#include "arrays.hpp"

namespace fastnn::bindings {
namespace {

// x viewed as (rows, features) with features = its last extent.
struct Rows {
  index_t rows, features;
};

Rows rows_of(const py::array& x) {
  if (x.ndim() < 1) throw std::invalid_argument("Argument `x` must have at least one axis");
  const index_t features = x.shape(x.ndim() - 1);
  return {features ? index_t(x.size()) / features : 0, features};
}

template <class T>
const T* vector_input(const py::array& a, const char* name, index_t features) {
  require_shape(a, name, {features});
  return contiguous_input<T>(a, name);
}

template <class T>
T* vector_output(py::array& a, const char* name, index_t features) {
  require_shape(a, name, {features});
  return contiguous_output<T>(a, name);
}

void batch_norm_training_binding(const py::array& x, const py::array& gamma, const py::array& beta, double epsilon,
                                 py::array out, py::array mean, py::array variance, const std::string& activation,
                                 double alpha) {
  const Activation act = parse_activation(activation);
  dispatch_float(x, "x", [&](auto tag) {
    using T = decltype(tag);
    const auto [rows, features] = rows_of(x);
    if (rows < 1) throw std::invalid_argument("Argument `x` must hold at least one row");
    same_shape(x, out, "out");
    const T* xs = contiguous_input<T>(x, "x");
    const T* g = vector_input<T>(gamma, "gamma", features);
    const T* b = vector_input<T>(beta, "beta", features);
    T* y = contiguous_output<T>(out, "out");
    T* m = vector_output<T>(mean, "mean", features);
    T* v = vector_output<T>(variance, "variance", features);
    py::gil_scoped_release release;
    batch_norm_forward_training<T>(xs, rows, features, g, b, epsilon, act, T(alpha), y, m, v);
  });
}

void batch_norm_inference_binding(const py::array& x, const py::array& gamma, const py::array& beta,
                                  const py::array& mean, const py::array& variance, double epsilon, py::array out,
                                  const std::string& activation, double alpha) {
  const Activation act = parse_activation(activation);
  dispatch_float(x, "x", [&](auto tag) {
    using T = decltype(tag);
    const auto [rows, features] = rows_of(x);
    same_shape(x, out, "out");
    const T* xs = contiguous_input<T>(x, "x");
    const T* g = vector_input<T>(gamma, "gamma", features);
    const T* b = vector_input<T>(beta, "beta", features);
    const T* m = vector_input<T>(mean, "mean", features);
    const T* v = vector_input<T>(variance, "variance", features);
    T* y = contiguous_output<T>(out, "out");
    py::gil_scoped_release release;
    batch_norm_forward_inference<T>(xs, rows, features, g, b, m, v, epsilon, act, T(alpha), y);
  });
}

void batch_norm_backward_binding(const py::array& dy, const py::array& x, const py::object& y, const py::array& gamma,
                                 const py::array& mean, const py::array& variance, double epsilon, bool batch_statistics,
                                 const std::string& activation, double alpha, const py::object& dx, py::array dgamma,
                                 py::array dbeta) {
  const Activation act = parse_activation(activation);
  dispatch_float(x, "x", [&](auto tag) {
    using T = decltype(tag);
    const auto [rows, features] = rows_of(x);
    same_shape(x, dy, "dy");
    const T* dys = contiguous_input<T>(dy, "dy");
    const T* xs = contiguous_input<T>(x, "x");
    const T* ys = nullptr;
    if (!y.is_none()) {
      const auto ya = py::cast<py::array>(y);
      same_shape(x, ya, "y");
      ys = contiguous_input<T>(ya, "y");
    }
    const T* g = vector_input<T>(gamma, "gamma", features);
    const T* m = vector_input<T>(mean, "mean", features);
    const T* v = vector_input<T>(variance, "variance", features);
    T* dxs = optional_output<T>(dx, "dx", [&](const py::array& a) { same_shape(x, a, "dx"); });
    T* dg = vector_output<T>(dgamma, "dgamma", features);
    T* db = vector_output<T>(dbeta, "dbeta", features);
    py::gil_scoped_release release;
    batch_norm_backward<T>(dys, xs, ys, rows, features, g, m, v, epsilon, batch_statistics, act, T(alpha), dxs, dg, db);
  });
}

}  // namespace

void register_normalization(py::module_& m) {
  using namespace pybind11::literals;
  m.def("batch_norm_training", &batch_norm_training_binding, "x"_a, "gamma"_a, "beta"_a, "epsilon"_a, "out"_a, "mean"_a,
        "variance"_a, "activation"_a, "alpha"_a);
  m.def("batch_norm_inference", &batch_norm_inference_binding, "x"_a, "gamma"_a, "beta"_a, "mean"_a, "variance"_a,
        "epsilon"_a, "out"_a, "activation"_a, "alpha"_a);
  m.def("batch_norm_backward", &batch_norm_backward_binding, "dy"_a, "x"_a, "y"_a, "gamma"_a, "mean"_a, "variance"_a,
        "epsilon"_a, "batch_statistics"_a, "activation"_a, "alpha"_a, "dx"_a, "dgamma"_a, "dbeta"_a);
}

}  // namespace fastnn::bindings
