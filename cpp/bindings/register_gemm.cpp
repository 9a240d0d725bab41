#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "../gemm/gemm.hpp"
#include "arrays.hpp"

namespace fastnn::bindings {
namespace {

// out = op(a) @ op(b); out must be C-contiguous and must not overlap a or b.
void gemm_binding(const py::array& a, const py::array& b, py::array out, bool trans_a, bool trans_b) {
  dispatch_float(out, "out", [&](auto tag) {
    using T = decltype(tag);
    MatrixView<T> va = matrix_view<T>(a, "a"), vb = matrix_view<T>(b, "b");
    index_t m = a.shape(0), k = a.shape(1), kb = b.shape(0), n = b.shape(1);
    if (trans_a) std::swap(m, k), std::swap(va.rs, va.cs);
    if (trans_b) std::swap(kb, n), std::swap(vb.rs, vb.cs);
    if (k != kb) throw std::invalid_argument("matmul: inner dimensions differ: " + shape_of(a) + " and " + shape_of(b));
    require_shape(out, "out", {m, n});
    T* c = contiguous_output<T>(out, "out");
    py::gil_scoped_release release;
    gemm<T>(GemmProblem<T>{m, n, k, va, vb, c, n});
  });
}

}  // namespace

void register_gemm(py::module_& m) {
  m.def("gemm", &gemm_binding, py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a"), py::arg("trans_b"));
}

}  // namespace fastnn::bindings
