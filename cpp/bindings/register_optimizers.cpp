#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "../ops/optimizer_updates.hpp"
#include "arrays.hpp"

namespace fastnn::bindings {
namespace {

// A writable state array shaped like the parameter, or null for None.
template <class T>
T* state(const py::object& array, const py::array& param, const char* name) {
  if (array.is_none()) return nullptr;
  if (!py::isinstance<py::array>(array)) throw py::type_error(std::string("Argument `") + name + "` must be an array or None");
  auto a = py::reinterpret_borrow<py::array>(array);
  if (a.size() != param.size()) throw std::invalid_argument(std::string("Argument `") + name + "` differs in size from `w`");
  return contiguous_output<T>(a, name);
}

// g; written (the penalized gradient stored back) when the step folds in a penalty.
template <class T>
T* gradient(py::array& g, const py::array& param, const Penalty& penalty) {
  if (g.size() != param.size()) throw std::invalid_argument("Argument `g` differs in size from `w`");
  if (penalty.any()) return contiguous_output<T>(g, "g");
  return const_cast<T*>(contiguous_input<T>(g, "g"));  // only read: the kernels store into g only with a penalty
}

// The kernels read and write w, g and the state arrays as distinct arrays (__restrict): n values
// each, contiguous; none may overlap another.
template <class T>
void require_distinct(std::initializer_list<std::pair<const T*, const char*>> arrays, index_t n) {
  for (auto a = arrays.begin(); a != arrays.end(); ++a) {
    for (auto b = a + 1; b != arrays.end(); ++b) {
      if (a->first && b->first && a->first < b->first + n && b->first < a->first + n) {
        throw std::invalid_argument(std::string("Arguments `") + a->second + "` and `" + b->second +
                                    "` overlap: the update needs separate arrays");
      }
    }
  }
}

Penalty make_penalty(double l1, double l2) {
  if (!(l1 >= 0.0) || !(l2 >= 0.0)) throw std::invalid_argument("Arguments `l1` and `l2` must be >= 0");
  return Penalty{l1, l2};
}

void sgd_binding(py::array w, py::array g, const py::object& velocity, double lr, double momentum, bool nesterov,
                 double l1, double l2) {
  const Penalty penalty = make_penalty(l1, l2);
  dispatch_float(w, "w", [&](auto tag) {
    using T = decltype(tag);
    T* wp = contiguous_output<T>(w, "w");
    T* gp = gradient<T>(g, w, penalty);
    T* vp = state<T>(velocity, w, "velocity");
    const index_t n = w.size();
    require_distinct<T>({{wp, "w"}, {gp, "g"}, {vp, "velocity"}}, n);
    py::gil_scoped_release release;
    sgd_update<T>(wp, gp, vp, n, lr, momentum, nesterov, penalty);
  });
}

void adam_binding(py::array w, py::array g, const py::object& m, const py::object& v, double beta1, double beta2,
                  double epsilon, double c1, double c2, double decay, double l1, double l2) {
  const Penalty penalty = make_penalty(l1, l2);
  dispatch_float(w, "w", [&](auto tag) {
    using T = decltype(tag);
    T* wp = contiguous_output<T>(w, "w");
    T* gp = gradient<T>(g, w, penalty);
    T* mp = state<T>(m, w, "m");
    T* vp = state<T>(v, w, "v");
    if (!mp || !vp) throw std::invalid_argument("Arguments `m` and `v` are required");
    const index_t n = w.size();
    require_distinct<T>({{wp, "w"}, {gp, "g"}, {mp, "m"}, {vp, "v"}}, n);
    py::gil_scoped_release release;
    adam_update<T>(wp, gp, mp, vp, n, beta1, beta2, epsilon, c1, c2, decay, penalty);
  });
}

void rmsprop_binding(py::array w, py::array g, const py::object& v, double lr, double rho, double epsilon, double l1,
                     double l2) {
  const Penalty penalty = make_penalty(l1, l2);
  dispatch_float(w, "w", [&](auto tag) {
    using T = decltype(tag);
    T* wp = contiguous_output<T>(w, "w");
    T* gp = gradient<T>(g, w, penalty);
    T* vp = state<T>(v, w, "v");
    if (!vp) throw std::invalid_argument("Argument `v` is required");
    const index_t n = w.size();
    require_distinct<T>({{wp, "w"}, {gp, "g"}, {vp, "v"}}, n);
    py::gil_scoped_release release;
    rmsprop_update<T>(wp, gp, vp, n, lr, rho, epsilon, penalty);
  });
}

}  // namespace

void register_optimizers(py::module_& m) {
  using namespace pybind11::literals;
  m.def("sgd_update", &sgd_binding, "w"_a, "g"_a, "velocity"_a, "learning_rate"_a, "momentum"_a, "nesterov"_a,
        "l1"_a = 0.0, "l2"_a = 0.0);
  m.def("adam_update", &adam_binding, "w"_a, "g"_a, "m"_a, "v"_a, "beta_1"_a, "beta_2"_a, "epsilon"_a, "c1"_a, "c2"_a,
        "decay"_a, "l1"_a = 0.0, "l2"_a = 0.0);
  m.def("rmsprop_update", &rmsprop_binding, "w"_a, "g"_a, "v"_a, "learning_rate"_a, "rho"_a, "epsilon"_a, "l1"_a = 0.0,
        "l2"_a = 0.0);
}

}  // namespace fastnn::bindings
