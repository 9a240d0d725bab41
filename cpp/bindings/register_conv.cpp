#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <string>

#include "../ops/conv.hpp"
#include "arrays.hpp"

namespace fastnn::bindings {
namespace {

using Triple = std::array<index_t, 3>;

// The geometry from 5-D arrays (1-D and 2-D convolutions come padded with unit dimensions):
// x (batch, in0, in1, in2, channels), w (k0, k1, k2, channels, filters), y (batch, out0, out1,
// out2, filters). The output sizes are y's as given (fastnn.ops computes Keras's from the
// padding); any sizes and pads are memory-safe, since the gather reads zero outside the input.
ConvGeometry geometry(const py::array& x, const py::array& w, const py::array& y, const Triple& stride,
                      const Triple& dilation, const Triple& pad) {
  for (const auto* a : {&x, &w, &y}) {
    if (a->ndim() != 5) throw std::invalid_argument("conv: arrays must be 5-D. Received shape " + shape_of(*a));
  }
  ConvGeometry g;
  g.batch = x.shape(0);
  g.channels = x.shape(4);
  g.filters = w.shape(4);
  if (w.shape(3) != g.channels) {
    throw std::invalid_argument("conv: x " + shape_of(x) + " and kernel " + shape_of(w) + " disagree on the channels");
  }
  if (y.shape(0) != g.batch || y.shape(4) != g.filters) {
    throw std::invalid_argument("conv: output " + shape_of(y) + " does not fit x " + shape_of(x) + " and kernel " + shape_of(w));
  }
  for (int d = 0; d < 3; ++d) {
    if (stride[d] < 1 || dilation[d] < 1 || pad[d] < 0) throw std::invalid_argument("conv: strides and dilations must be >= 1, pads >= 0");
    g.in[d] = x.shape(1 + d);
    g.kernel[d] = w.shape(d);
    g.out[d] = y.shape(1 + d);
    g.stride[d] = stride[d];
    g.dilation[d] = dilation[d];
    g.pad[d] = pad[d];
  }
  return g;
}

void conv_binding(const py::array& x, const py::array& w, const py::object& bias, py::array out, const Triple& stride,
                  const Triple& dilation, const Triple& pad, const std::string& activation, double alpha) {
  dispatch_float(out, "out", [&](auto tag) {
    using T = decltype(tag);
    const ConvGeometry g = geometry(x, w, out, stride, dilation, pad);
    const T* xd = contiguous_input<T>(x, "x");
    const T* wd = contiguous_input<T>(w, "w");
    const T* bd = optional_input<T>(bias, "b", {g.filters});
    T* yd = contiguous_output<T>(out, "out");
    const Activation act = parse_activation(activation);
    py::gil_scoped_release release;
    conv_forward<T>(g, xd, wd, bd, act, T(alpha), yd);
  });
}

void conv_backward_binding(const py::array& dy, const py::array& x, const py::array& w, const py::object& y,
                           const py::object& dx, py::array dw, py::array db, const Triple& stride, const Triple& dilation,
                           const Triple& pad, const std::string& activation, double alpha) {
  dispatch_float(dy, "dy", [&](auto tag) {
    using T = decltype(tag);
    const ConvGeometry g = geometry(x, w, dy, stride, dilation, pad);
    const T* dyd = contiguous_input<T>(dy, "dy");
    const T* xd = contiguous_input<T>(x, "x");
    const T* wd = contiguous_input<T>(w, "w");
    const T* yd = optional_input<T>(y, "y", {g.batch, g.out[0], g.out[1], g.out[2], g.filters});
    T* dxd = optional_output<T>(dx, "dx", [&](const py::array& a) {
      require_shape(a, "dx", {g.batch, g.in[0], g.in[1], g.in[2], g.channels});
    });
    require_shape(dw, "dw", {g.kernel[0], g.kernel[1], g.kernel[2], g.channels, g.filters});
    require_shape(db, "db", {g.filters});
    T* dwd = contiguous_output<T>(dw, "dw");
    T* dbd = contiguous_output<T>(db, "db");
    const Activation act = parse_activation(activation);
    if (!yd && act != Activation::identity) throw std::invalid_argument("conv_backward needs y for activation != identity");
    py::gil_scoped_release release;
    conv_backward<T>(g, dyd, xd, wd, yd, act, T(alpha), dxd, dwd, dbd);
  });
}

}  // namespace

void register_conv(py::module_& m) {
  using namespace pybind11::literals;
  m.def("conv", &conv_binding, "x"_a, "w"_a, "b"_a, "out"_a, "stride"_a, "dilation"_a, "pad"_a, "activation"_a, "alpha"_a);
  m.def("conv_backward", &conv_backward_binding, "dy"_a, "x"_a, "w"_a, "y"_a, "dx"_a, "dw"_a, "db"_a, "stride"_a,
        "dilation"_a, "pad"_a, "activation"_a, "alpha"_a);
}

}  // namespace fastnn::bindings
