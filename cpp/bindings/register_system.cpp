#include <pybind11/pybind11.h>

#include <thread>
#if defined(__linux__)
#include <sched.h>
#endif

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

// For the tests of leave_cpu (parallel.hpp): a new thread is put on the calling thread's CPU,
// with its affinity mask as it was, and calls leave_cpu for that CPU. Returns (the calling
// thread's CPU, the new thread's CPU before and after the call, whether its mask came back
// unchanged); None where the platform has no affinity calls.
py::object leave_cpu_trial() {
#if defined(__linux__)
  const int cpu = current_cpu();
  int before = -1, after = -1;
  bool mask_kept = false;
  std::thread([&] {
    cpu_set_t mask, here, now;
    sched_getaffinity(0, sizeof(mask), &mask);
    CPU_ZERO(&here);
    CPU_SET(cpu, &here);
    sched_setaffinity(0, sizeof(here), &here);  // moves it there at once
    sched_setaffinity(0, sizeof(mask), &mask);  // and it stays
    before = current_cpu();
    leave_cpu(cpu);
    after = current_cpu();
    sched_getaffinity(0, sizeof(now), &now);
    mask_kept = CPU_EQUAL(&mask, &now);
  }).join();
  return py::make_tuple(cpu, before, after, mask_kept);
#else
  return py::none();
#endif
}

}  // namespace

void register_system(py::module_& m) {
  m.def("cpu_info", &cpu_info);
  m.def("get_num_threads", &num_threads);
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("fma_peak_gflops", &fma_peak_gflops, py::arg("threads"), py::arg("min_seconds"),
        py::call_guard<py::gil_scoped_release>());
  m.def("leave_cpu_trial", &leave_cpu_trial);
}

}  // namespace fastnn::bindings
