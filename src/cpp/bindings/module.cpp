// losskit._core: the only code that knows Python. Each family binds itself (bind_*.cpp).
#include <pybind11/pybind11.h>

#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "losskit's compiled core (private: use the losskit package)";
  losskit::bindings::bind_runtime(m);
  losskit::bindings::bind_losses(m);
  losskit::bindings::bind_optim(m);
#ifdef LOSSKIT_JAX_FFI
  losskit::bindings::bind_jax_ffi(m);
#endif
}
