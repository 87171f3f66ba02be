// Every loss definition, and the lists the enums (losskit/loss_ids.hpp) and the per-ISA
// kernel tables are generated from: a definition file lists its own losses at its end, and
// the order here is the order of the enums.
#pragma once

#include "losskit/definitions/elementwise.hpp"
#include "losskit/definitions/embedding.hpp"
#include "losskit/definitions/multiclass.hpp"

#define LOSSKIT_ROWWISE_DEFINITIONS(X) LOSSKIT_MULTICLASS_LOSSES(X) LOSSKIT_EMBEDDING_LOSSES(X)
