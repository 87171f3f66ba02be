// Instruction sets, threads and the vector-math test hook.
#include <stdexcept>
#include <string>

#include "bindings.hpp"
#include "losskit/losskit.hpp"

namespace losskit::bindings {

namespace {

constexpr Isa kAllIsas[] = {Isa::sse2, Isa::avx2, Isa::avx512};

Isa isa_from_name(const std::string& name) {
  for (Isa isa : kAllIsas)
    if (name == isa_name(isa)) return isa;
  throw std::invalid_argument("isa must be one of 'sse2', 'avx2', 'avx512', got '" + name + "'");
}

MathFunction math_from_name(const std::string& name) {
  static const char* names[] = {"exp", "log", "log1p", "expm1", "tanh", "erf"};
  for (int i = 0; i < 6; ++i)
    if (name == names[i]) return static_cast<MathFunction>(i);
  throw std::invalid_argument("unknown math function '" + name + "'");
}

}  // namespace

void bind_runtime(py::module_& m) {
  m.def("get_num_threads", &get_num_threads, "Threads the kernels use above their size threshold.");
  m.def("set_num_threads", [](py::handle n) {
        // Any Python integer (a huge one included) is checked here, so that a bad n is a
        // ValueError or TypeError, never pybind's argument-conversion error.
        if (PyBool_Check(n.ptr()) || !PyIndex_Check(n.ptr()))
          throw py::type_error("n must be an integer, got " + std::string(py::repr(n)));
        const py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(n.ptr()));
        if (!index) throw py::error_already_set();
        int overflow = 0;
        const long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
        if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
        if (overflow || v < 1 || v > kMaxThreads)
          throw py::value_error("num_threads must be in [1, " + std::to_string(kMaxThreads) +
                                "], got " + std::string(py::repr(n)));
        set_num_threads(int(v));
      }, py::arg("n"),
        "Set the threads the kernels use (1 <= n <= 1024: OpenMP would end the process if it "
        "could not start them); results do not depend on it.");
  m.def("get_isa", [] { return std::string(isa_name(get_isa())); },
        "The instruction set the kernels run on: 'sse2', 'avx2' or 'avx512'.");
  m.def("set_isa", [](const std::string& name) { set_isa(isa_from_name(name)); }, py::arg("isa"),
        "Run the kernels on this instruction set (for tests and benchmarks).");
  m.def("available_isas", [] {
        py::list out;
        for (Isa isa : kAllIsas)
          if (isa_available(isa)) out.append(isa_name(isa));
        return out;
      }, "Instruction sets compiled into this build and supported by this CPU, lowest first.");
  m.def("_vmath", [](const std::string& name, py::handle x, py::handle out) {
        const MathFunction f = math_from_name(name);
        const Dtype t = canonical_dtype(x);
        if (t == Dtype::other || canonical_dtype(out) != t || !same_shape(x, out) || !writeable(out))
          throw std::invalid_argument("_vmath: x and out must be C-contiguous float32/float64 "
                                      "arrays of one shape and dtype, out writeable");
        const std::size_t n = size_of(x);
        py::gil_scoped_release nogil;
        if (t == Dtype::f32) vector_math(f, data<float>(x), data<float>(out), n);
        else vector_math(f, data<double>(x), data<double>(out), n);
      }, py::arg("name"), py::arg("x"), py::arg("out"),
      "out[...] = f(x) with the vectorized math of the active instruction set (test hook).");
}

}  // namespace losskit::bindings
