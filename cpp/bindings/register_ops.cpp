#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "../ops/dropout.hpp"
#include "../ops/linear.hpp"
#include "../ops/softmax_cross_entropy.hpp"
#include "arrays.hpp"

namespace fastnn::bindings {
namespace {

template <class T>
LinearParams<T> linear_params(const py::object& bias, index_t n, const std::string& activation, double alpha,
                              double rate, std::uint64_t seed, std::uint64_t offset) {
  LinearParams<T> params;
  params.bias = optional_input<T>(bias, "b", {n});
  params.activation = parse_activation(activation);
  params.alpha = T(alpha);
  params.dropout = DropoutParams::make(rate, seed, offset);
  return params;
}

double sparse_softmax_cross_entropy_binding(const py::array& logits, const py::array& labels, py::array grad) {
  return dispatch_float(logits, "logits", [&](auto tag) {
    using T = decltype(tag);
    if (logits.ndim() != 2) throw std::invalid_argument("Argument `logits` must be 2-D. Received shape " + shape_of(logits));
    const index_t batch = logits.shape(0), classes = logits.shape(1);
    require_shape(labels, "labels", {batch});
    require_shape(grad, "grad", {batch, classes});
    const T* z = contiguous_input<T>(logits, "logits");
    const std::int64_t* y = contiguous_input<std::int64_t>(labels, "labels");
    for (index_t i = 0; i < batch; ++i) {
      if (y[i] < 0 || y[i] >= classes) {
        throw std::invalid_argument("Argument `labels` must hold class indices in [0, " + std::to_string(classes) +
                                    "). Received " + std::to_string(y[i]) + " at position " + std::to_string(i));
      }
    }
    T* g = contiguous_output<T>(grad, "grad");
    py::gil_scoped_release release;
    return sparse_softmax_cross_entropy<T>(z, y, batch, classes, g);
  });
}

void linear_binding(const py::array& x, const py::array& w, const py::object& bias, py::array out,
                    const std::string& activation, double alpha, double rate, std::uint64_t seed, std::uint64_t offset) {
  dispatch_float(out, "out", [&](auto tag) {
    using T = decltype(tag);
    const MatrixView<T> vx = matrix_view<T>(x, "x"), vw = matrix_view<T>(w, "w");
    const index_t m = x.shape(0), k = x.shape(1), n = w.shape(1);
    if (w.shape(0) != k) throw std::invalid_argument("linear: x " + shape_of(x) + " and w " + shape_of(w) + " do not chain");
    require_shape(out, "out", {m, n});
    const LinearParams<T> params = linear_params<T>(bias, n, activation, alpha, rate, seed, offset);
    T* y = contiguous_output<T>(out, "out");
    py::gil_scoped_release release;
    linear_forward<T>(m, k, n, vx, vw, y, n, params);
  });
}

void linear_backward_binding(const py::array& dy, const py::array& x, const py::array& w, const py::object& y,
                             const py::object& dx, py::array dw, py::array db, const std::string& activation, double alpha,
                             double rate, std::uint64_t seed, std::uint64_t offset) {
  dispatch_float(dy, "dy", [&](auto tag) {
    using T = decltype(tag);
    const MatrixView<T> vx = matrix_view<T>(x, "x"), vw = matrix_view<T>(w, "w");
    const index_t m = x.shape(0), k = x.shape(1), n = w.shape(1);
    if (w.shape(0) != k) throw std::invalid_argument("linear_backward: x " + shape_of(x) + " and w " + shape_of(w) + " do not chain");
    require_shape(dy, "dy", {m, n});
    const T* dy_data = contiguous_input<T>(dy, "dy");
    const T* y_data = optional_input<T>(y, "y", {m, n});
    T* dx_data = optional_output<T>(dx, "dx", [&](const py::array& a) { require_shape(a, "dx", {m, k}); });
    require_shape(dw, "dw", {k, n});
    require_shape(db, "db", {n});
    const LinearParams<T> params = linear_params<T>(py::none(), n, activation, alpha, rate, seed, offset);
    T* dw_data = contiguous_output<T>(dw, "dw");
    T* db_data = contiguous_output<T>(db, "db");
    py::gil_scoped_release release;
    linear_backward<T>(m, k, n, dy_data, vx, vw, y_data, dx_data, dw_data, db_data, params);
  });
}

void dropout_binding(const py::array& x, py::array out, double rate, std::uint64_t seed, std::uint64_t offset) {
  dispatch_float(out, "out", [&](auto tag) {
    using T = decltype(tag);
    if (x.size() != out.size()) throw std::invalid_argument("dropout: x " + shape_of(x) + " and out " + shape_of(out) + " differ");
    const T* src = contiguous_input<T>(x, "x");
    T* dst = contiguous_output<T>(out, "out");
    const DropoutParams params = DropoutParams::make(rate, seed, offset);
    const index_t n = out.size();
    py::gil_scoped_release release;
    dropout<T>(src, dst, n, params);
  });
}

void dropout_mask_binding(py::array out, double rate, std::uint64_t seed, std::uint64_t offset) {
  if (!py::isinstance<py::array_t<bool, 0>>(out)) throw py::type_error("Argument `out` must be a bool array");
  if (!(out.flags() & py::array::c_style) || !out.writeable()) throw std::invalid_argument("Argument `out` must be writeable and C-contiguous");
  auto* keep = static_cast<std::uint8_t*>(out.mutable_data());
  const DropoutParams params = DropoutParams::make(rate, seed, offset);
  const index_t n = out.size();
  py::gil_scoped_release release;
  dropout_mask(keep, n, params);
}

}  // namespace

void register_ops(py::module_& m) {
  using namespace pybind11::literals;
  m.def("linear", &linear_binding, "x"_a, "w"_a, "b"_a, "out"_a, "activation"_a, "alpha"_a, "rate"_a, "seed"_a, "offset"_a);
  m.def("linear_backward", &linear_backward_binding, "dy"_a, "x"_a, "w"_a, "y"_a, "dx"_a, "dw"_a, "db"_a, "activation"_a,
        "alpha"_a, "rate"_a, "seed"_a, "offset"_a);
  m.def("sparse_softmax_cross_entropy", &sparse_softmax_cross_entropy_binding, "logits"_a, "labels"_a, "grad"_a);
  m.def("dropout", &dropout_binding, "x"_a, "out"_a, "rate"_a, "seed"_a, "offset"_a);
  m.def("dropout_mask", &dropout_mask_binding, "out"_a, "rate"_a, "seed"_a, "offset"_a);
}

}  // namespace fastnn::bindings
