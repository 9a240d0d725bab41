#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "../ops/batches.hpp"
#include "arrays.hpp"

namespace fastnn::bindings {
namespace {

bool all_finite_binding(const py::array& x) {
  return dispatch_float(x, "x", [&](auto tag) {
    using T = decltype(tag);
    const T* data = contiguous_input<T>(x, "x");
    const index_t n = x.size();
    py::gil_scoped_release release;
    return all_finite<T>(data, n);
  });
}

void take_rows_binding(const py::array& x, const py::array& index, py::array out) {
  if (x.ndim() < 1) throw std::invalid_argument("Argument `x` must be at least 1-D. Received shape " + shape_of(x));
  if (!(x.flags() & py::array::c_style)) throw std::invalid_argument("Argument `x` must be C-contiguous");
  if (!out.dtype().equal(x.dtype())) {
    throw py::type_error("Argument `out` must have x's dtype " + py::str(x.dtype()).cast<std::string>() +
                         ". Received dtype " + py::str(out.dtype()).cast<std::string>());
  }
  if (!(out.flags() & py::array::c_style)) throw std::invalid_argument("Argument `out` must be C-contiguous");
  if (!out.writeable()) throw std::invalid_argument("Argument `out` is read-only");
  if (index.ndim() != 1) throw std::invalid_argument("Argument `index` must be 1-D. Received shape " + shape_of(index));
  const std::int64_t* rows = contiguous_input<std::int64_t>(index, "index");
  const index_t count = index.shape(0), available = x.shape(0);
  bool fits = out.ndim() == x.ndim() && out.shape(0) == count;
  for (py::ssize_t axis = 1; fits && axis < x.ndim(); ++axis) fits = out.shape(axis) == x.shape(axis);
  if (!fits) throw std::invalid_argument("Argument `out` has the wrong shape " + shape_of(out));
  for (index_t i = 0; i < count; ++i) {
    if (rows[i] < 0 || rows[i] >= available) {
      throw py::index_error("Argument `index` holds " + std::to_string(rows[i]) + " at position " + std::to_string(i) +
                            ", outside [0, " + std::to_string(available) + ")");
    }
  }
  const index_t row_bytes = available > 0 ? index_t(x.nbytes()) / available : 0;
  const void* source = x.data();
  void* target = out.mutable_data();
  py::gil_scoped_release release;
  take_rows(source, row_bytes, rows, count, target);
}

}  // namespace

void register_batches(py::module_& m) {
  using namespace pybind11::literals;
  m.def("all_finite", &all_finite_binding, "x"_a);
  m.def("take_rows", &take_rows_binding, "x"_a, "index"_a, "out"_a);
}

}  // namespace fastnn::bindings
