// Every loss definition, and the lists the enums (losskit/loss_ids.hpp) and the per-ISA
// kernel tables are generated from: a definition file lists its own losses at its end, and
// the order here is the order of the enums.
#pragma once

#include "definitions/barron.hpp"
#include "definitions/classification.hpp"
#include "definitions/embedding.hpp"
#include "definitions/glm.hpp"
#include "definitions/multiclass.hpp"
#include "definitions/ranking.hpp"
#include "definitions/regression.hpp"

#define LOSSKIT_ELEMENTWISE_DEFINITIONS(X) \
  LOSSKIT_REGRESSION_LOSSES(X) LOSSKIT_CLASSIFICATION_LOSSES(X) LOSSKIT_BARRON_LOSSES(X)     \
  LOSSKIT_GLM_LOSSES(X) LOSSKIT_RANKING_LOSSES(X)
#define LOSSKIT_ROWWISE_DEFINITIONS(X) LOSSKIT_MULTICLASS_LOSSES(X) LOSSKIT_EMBEDDING_LOSSES(X)
