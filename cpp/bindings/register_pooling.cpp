#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "../ops/pooling.hpp"
#include "arrays.hpp"

namespace fastnn::bindings {
namespace {

// The geometry of a (batch, *spatial, channels) input `x`, checked against the output `y`.
PoolGeometry geometry(const py::array& x, const char* x_name, const py::array& y, const char* y_name,
                      const std::vector<index_t>& pool, const std::vector<index_t>& strides, bool same) {
  if (x.ndim() < 3 || x.ndim() > 5) {
    throw std::invalid_argument(std::string("Argument `") + x_name + "` must be (batch, *spatial, channels) with 1 to 3 spatial axes. Received shape " + shape_of(x));
  }
  std::vector<index_t> spatial;
  for (py::ssize_t i = 1; i + 1 < x.ndim(); ++i) spatial.push_back(x.shape(i));
  const PoolGeometry g = PoolGeometry::make(x.shape(0), spatial, x.shape(x.ndim() - 1), pool, strides, same);
  bool matches = y.ndim() == x.ndim() && y.shape(0) == g.batch && y.shape(y.ndim() - 1) == g.channels;
  for (std::size_t i = 0; matches && i < spatial.size(); ++i) matches = y.shape(py::ssize_t(i) + 1) == g.out[3 - spatial.size() + i];
  if (!matches) throw std::invalid_argument(std::string("Argument `") + y_name + "` has the wrong shape " + shape_of(y));
  return g;
}

std::int32_t* argmax_data(py::array& argmax, const py::array& like, bool writeable) {
  require_dtype<std::int32_t>(argmax, "argmax");
  same_shape(like, argmax, "argmax");
  if (!(argmax.flags() & py::array::c_style)) throw std::invalid_argument("Argument `argmax` must be C-contiguous");
  if (writeable && !argmax.writeable()) throw std::invalid_argument("Argument `argmax` is read-only");
  return static_cast<std::int32_t*>(argmax.mutable_data());
}

void max_pool_binding(const py::array& x, py::array out, std::optional<py::array> argmax, const std::vector<index_t>& pool,
                      const std::vector<index_t>& strides, bool same) {
  dispatch_float(x, "x", [&](auto tag) {
    using T = decltype(tag);
    const PoolGeometry g = geometry(x, "x", out, "out", pool, strides, same);
    const T* xs = contiguous_input<T>(x, "x");
    T* y = contiguous_output<T>(out, "out");
    std::int32_t* a = argmax ? argmax_data(*argmax, out, true) : nullptr;  // None: not wanted
    py::gil_scoped_release release;
    max_pool<T>(xs, g, y, a);
  });
}

void max_pool_backward_binding(const py::array& dy, py::array argmax, py::array dx, const std::vector<index_t>& pool,
                               const std::vector<index_t>& strides, bool same) {
  dispatch_float(dy, "dy", [&](auto tag) {
    using T = decltype(tag);
    const PoolGeometry g = geometry(dx, "dx", dy, "dy", pool, strides, same);
    const T* dys = contiguous_input<T>(dy, "dy");
    const std::int32_t* a = argmax_data(argmax, dy, false);
    T* dxs = contiguous_output<T>(dx, "dx");
    py::gil_scoped_release release;
    max_pool_backward<T>(dys, a, g, dxs);
  });
}

void average_pool_binding(const py::array& x, py::array out, const std::vector<index_t>& pool,
                          const std::vector<index_t>& strides, bool same) {
  dispatch_float(x, "x", [&](auto tag) {
    using T = decltype(tag);
    const PoolGeometry g = geometry(x, "x", out, "out", pool, strides, same);
    const T* xs = contiguous_input<T>(x, "x");
    T* y = contiguous_output<T>(out, "out");
    py::gil_scoped_release release;
    average_pool<T>(xs, g, y);
  });
}

void average_pool_backward_binding(const py::array& dy, py::array dx, const std::vector<index_t>& pool,
                                   const std::vector<index_t>& strides, bool same) {
  dispatch_float(dy, "dy", [&](auto tag) {
    using T = decltype(tag);
    const PoolGeometry g = geometry(dx, "dx", dy, "dy", pool, strides, same);
    const T* dys = contiguous_input<T>(dy, "dy");
    T* dxs = contiguous_output<T>(dx, "dx");
    py::gil_scoped_release release;
    average_pool_backward<T>(dys, g, dxs);
  });
}

}  // namespace

void register_pooling(py::module_& m) {
  using namespace pybind11::literals;
  m.def("max_pool", &max_pool_binding, "x"_a, "out"_a, "argmax"_a, "pool_size"_a, "strides"_a, "same_padding"_a);
  m.def("max_pool_backward", &max_pool_backward_binding, "dy"_a, "argmax"_a, "dx"_a, "pool_size"_a, "strides"_a,
        "same_padding"_a);
  m.def("average_pool", &average_pool_binding, "x"_a, "out"_a, "pool_size"_a, "strides"_a, "same_padding"_a);
  m.def("average_pool_backward", &average_pool_backward_binding, "dy"_a, "dx"_a, "pool_size"_a, "strides"_a,
        "same_padding"_a);
}

}  // namespace fastnn::bindings
