#include <pybind11/pybind11.h>

#include "../cpu/dispatch.hpp"
#include "../cpu/features.hpp"
#include "../cpu/fma_probe.hpp"
#include "../parallel.hpp"

namespace py = pybind11;

namespace fastnn::bindings {
namespace {

template <class T>
py::dict describe(const GemmKernel<T>& kernel) {
  py::dict d;
  d["kernel"] = kernel.name;
  d["mr"] = kernel.blocking.mr;
  d["nr"] = kernel.blocking.nr;
  d["mc"] = kernel.blocking.mc;
  d["kc"] = kernel.blocking.kc;
  d["nc"] = kernel.blocking.nc;
  d["nb"] = kernel.blocking.nb;
  d["narrow_kernel"] = kernel.narrow.name;
  d["narrow_columns"] = kernel.narrow.kernel ? kernel.narrow.max_columns : 0;
  d["narrow_group_columns"] = kernel.narrow.group_columns;
  d["narrow_min_depth"] = kernel.narrow.min_depth;
  return d;
}

py::dict cpu_info() {
  const KernelTable& table = kernels();
  const CpuFeatures& features = cpu_features();
  const CacheSizes& caches = cache_sizes();
  py::dict info;
  info["isa"] = isa_name(table.isa);
  info["isa_supported"] = isa_name(table.best_supported);
  info["num_threads"] = num_threads();
  info["openmp"] = openmp_enabled();
  info["vendor"] = features.vendor;
  info["cpu"] = features.brand;
  py::dict cache;
  cache["l1d"] = caches.l1d;
  cache["l2"] = caches.l2;
  cache["l3"] = caches.l3;
  info["cache_bytes"] = cache;
  py::dict gemm;
  gemm["float32"] = describe(table.sgemm);
  gemm["float64"] = describe(table.dgemm);
  info["gemm"] = gemm;
  info["random"] = table.rng.name;
  return info;
}

}  // namespace

void register_system(py::module_& m) {
  m.def("cpu_info", &cpu_info);
  m.def("get_num_threads", &num_threads);
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("fma_peak_gflops", &fma_peak_gflops, py::arg("threads"), py::arg("min_seconds"),
        py::call_guard<py::gil_scoped_release>());
}

}  // namespace fastnn::bindings
