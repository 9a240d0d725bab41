// Argument checks that NumPy makes slowly for a call this short: the Python layer's `out=`
// overlap test ran np.may_share_memory once per input, about 0.7 us each, several times per
// call of a small op.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>

namespace py = pybind11;

namespace fastnn::bindings {
namespace {

struct ByteRange {
  std::uintptr_t first, last;  // [first, last); empty for an array of no elements
};

ByteRange byte_range(const py::array& a) {
  const auto start = reinterpret_cast<std::uintptr_t>(a.data());
  std::intptr_t low = 0, high = 0;  // offsets of the first and last elements
  for (py::ssize_t axis = 0; axis < a.ndim(); ++axis) {
    if (a.shape(axis) == 0) return {start, start};
    const std::intptr_t span = std::intptr_t(a.shape(axis) - 1) * std::intptr_t(a.strides(axis));
    (span < 0 ? low : high) += span;
  }
  return {start + low, start + high + std::uintptr_t(a.itemsize())};
}

// Whether `out`'s memory bounds meet those of any array among `inputs` (others, None included,
// are skipped): np.may_share_memory's test, which never misses an overlap and may report one
// between interleaved views that share no element.
bool overlaps_any(const py::array& out, const py::sequence& inputs) {
  const ByteRange mine = byte_range(out);
  if (mine.first == mine.last) return false;
  for (const py::handle item : inputs) {
    if (!py::isinstance<py::array>(item)) continue;
    const ByteRange theirs = byte_range(py::reinterpret_borrow<py::array>(item));
    if (theirs.first < theirs.last && mine.first < theirs.last && theirs.first < mine.last) return true;
  }
  return false;
}

}  // namespace

void register_checks(py::module_& m) {
  m.def("overlaps_any", &overlaps_any, py::arg("out"), py::arg("inputs"));
}

}  // namespace fastnn::bindings
