#pragma once

#include "kernel_table.hpp"

namespace losskit {
// The kernel table of the active instruction set.
const KernelTable& kernels();
}  // namespace losskit
