// fastnn._core: the compiled kernels. Each area registers its own functions; this file only
// gathers them. Private API: users call fastnn.ops, fastnn.init and fastnn.random.
#include <pybind11/pybind11.h>

#include "../cpu/dispatch.hpp"

namespace py = pybind11;

namespace fastnn::bindings {
void register_system(py::module_& m);
void register_random(py::module_& m);
void register_gemm(py::module_& m);
void register_ops(py::module_& m);
void register_conv(py::module_& m);
void register_augment(py::module_& m);
void register_optimizers(py::module_& m);
void register_normalization(py::module_& m);
void register_pooling(py::module_& m);
void register_spatial_dropout(py::module_& m);
void register_batches(py::module_& m);
void register_checks(py::module_& m);
}  // namespace fastnn::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastnn's compiled kernels (private; use fastnn.ops, fastnn.init, fastnn.random)";
  fastnn::kernels();  // choose the ISA path now: a bad FASTNN_ISA fails the import, clearly
  fastnn::bindings::register_system(m);
  fastnn::bindings::register_random(m);
  fastnn::bindings::register_gemm(m);
  fastnn::bindings::register_ops(m);
  fastnn::bindings::register_conv(m);
  fastnn::bindings::register_augment(m);
  fastnn::bindings::register_optimizers(m);
  fastnn::bindings::register_normalization(m);
  fastnn::bindings::register_pooling(m);
  fastnn::bindings::register_spatial_dropout(m);
  fastnn::bindings::register_batches(m);
  fastnn::bindings::register_checks(m);
}
