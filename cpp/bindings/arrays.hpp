// Conversions from NumPy arrays to kernel arguments. The bindings check what the kernels
// rely on (dtype, rank, strides, writability, shapes) and raise instead of touching memory
// they should not; friendly messages for users come from the Python layer first.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "../gemm/pack.hpp"

namespace fastnn::bindings {

namespace py = pybind11;

template <class T>
bool holds(const py::handle& object) {
  return py::isinstance<py::array_t<T, 0>>(object);
}

inline std::string shape_of(const py::array& a) {
  std::string text = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) text += (i ? ", " : "") + std::to_string(a.shape(i));
  return text + (a.ndim() == 1 ? ",)" : ")");
}

// Calls f(float{}) or f(double{}) by the dtype of `key`.
template <class F>
auto dispatch_float(const py::array& key, const char* name, F&& f) {
  if (holds<float>(key)) return f(float{});
  if (holds<double>(key)) return f(double{});
  throw py::type_error(std::string("Argument `") + name + "` must be a float32 or float64 array. Received dtype " +
                       py::str(key.dtype()).cast<std::string>());
}

template <class T>
void require_dtype(const py::array& a, const char* name) {
  if (!holds<T>(a)) {
    throw py::type_error(std::string("Argument `") + name + "` must have dtype " +
                         py::str(py::dtype::of<T>()).cast<std::string>() + ". Received dtype " +
                         py::str(a.dtype()).cast<std::string>());
  }
}

inline void require_shape(const py::array& a, const char* name, std::initializer_list<py::ssize_t> shape) {
  bool same = a.ndim() == static_cast<py::ssize_t>(shape.size());
  py::ssize_t i = 0;
  for (auto extent : shape) same = same && a.shape(i++) == extent;
  if (!same) throw std::invalid_argument(std::string("Argument `") + name + "` has the wrong shape " + shape_of(a));
}

// b must have a's shape exactly (axis by axis); `name` is b's argument name.
inline void same_shape(const py::array& a, const py::array& b, const char* name) {
  bool same = a.ndim() == b.ndim();
  for (py::ssize_t i = 0; same && i < a.ndim(); ++i) same = a.shape(i) == b.shape(i);
  if (!same) throw std::invalid_argument(std::string("Argument `") + name + "` has the wrong shape " + shape_of(b));
}

// A 2-D array of any strides that are whole multiples of the item size.
template <class T>
MatrixView<T> matrix_view(const py::array& a, const char* name) {
  require_dtype<T>(a, name);
  if (a.ndim() != 2) throw std::invalid_argument(std::string("Argument `") + name + "` must be 2-D. Received shape " + shape_of(a));
  const auto size = static_cast<py::ssize_t>(sizeof(T));
  if (a.strides(0) % size != 0 || a.strides(1) % size != 0) {
    throw std::invalid_argument(std::string("Argument `") + name + "` has strides that are not multiples of its item size");
  }
  return MatrixView<T>{static_cast<const T*>(a.data()), a.strides(0) / size, a.strides(1) / size};
}

template <class T>
const T* contiguous_input(const py::array& a, const char* name) {
  require_dtype<T>(a, name);
  if (!(a.flags() & py::array::c_style)) throw std::invalid_argument(std::string("Argument `") + name + "` must be C-contiguous");
  return static_cast<const T*>(a.data());
}

// An optional C-contiguous input: null for None, else an array of exactly `shape`.
template <class T>
const T* optional_input(const py::object& object, const char* name, std::initializer_list<py::ssize_t> shape) {
  if (object.is_none()) return nullptr;
  if (!py::isinstance<py::array>(object)) throw py::type_error(std::string("Argument `") + name + "` must be a NumPy array or None");
  const auto a = py::reinterpret_borrow<py::array>(object);
  require_shape(a, name, shape);
  return contiguous_input<T>(a, name);
}

template <class T>
T* contiguous_output(py::array& a, const char* name) {
  require_dtype<T>(a, name);
  if (!(a.flags() & py::array::c_style)) throw std::invalid_argument(std::string("Argument `") + name + "` must be C-contiguous");
  if (!a.writeable()) throw std::invalid_argument(std::string("Argument `") + name + "` is read-only");
  return static_cast<T*>(a.mutable_data());
}

// An optional output: null for None, else a writeable C-contiguous array that check_shape(array)
// accepts (it throws otherwise).
template <class T, class CheckShape>
T* optional_output(const py::object& object, const char* name, CheckShape&& check_shape) {
  if (object.is_none()) return nullptr;
  if (!py::isinstance<py::array>(object)) throw py::type_error(std::string("Argument `") + name + "` must be a NumPy array or None");
  auto a = py::reinterpret_borrow<py::array>(object);
  check_shape(a);
  return contiguous_output<T>(a, name);
}

}  // namespace fastnn::bindings
