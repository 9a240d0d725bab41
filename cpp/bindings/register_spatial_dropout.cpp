#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "../ops/spatial_dropout.hpp"
#include "arrays.hpp"

namespace fastnn::bindings {
namespace {

void spatial_dropout_binding(const py::array& x, py::array out, double rate, std::uint64_t seed, std::uint64_t offset) {
  dispatch_float(out, "out", [&](auto tag) {
    using T = decltype(tag);
    if (x.ndim() < 3) throw std::invalid_argument("Argument `x` must be (batch, *spatial, channels). Received shape " + shape_of(x));
    same_shape(x, out, "out");
    const index_t batch = x.shape(0), channels = x.shape(x.ndim() - 1);
    const index_t positions = batch * channels ? index_t(x.size()) / (batch * channels) : 0;
    const T* src = contiguous_input<T>(x, "x");
    T* dst = contiguous_output<T>(out, "out");
    const DropoutParams params = DropoutParams::make(rate, seed, offset);
    py::gil_scoped_release release;
    spatial_dropout<T>(src, dst, batch, positions, channels, params);
  });
}

}  // namespace

void register_spatial_dropout(py::module_& m) {
  using namespace pybind11::literals;
  m.def("spatial_dropout", &spatial_dropout_binding, "x"_a, "out"_a, "rate"_a, "seed"_a, "offset"_a);
}

}  // namespace fastnn::bindings
