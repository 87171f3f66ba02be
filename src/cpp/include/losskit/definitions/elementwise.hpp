// The elementwise loss definitions and their list (the order of the enum ElementwiseLoss):
// each definition file lists its own losses at its end. Elementwise definitions are also
// compiled with one lane for the per-point functions (losskit/point.hpp).
#pragma once

#include "losskit/definitions/barron.hpp"
#include "losskit/definitions/classification.hpp"
#include "losskit/definitions/glm.hpp"
#include "losskit/definitions/ranking.hpp"
#include "losskit/definitions/regression.hpp"

#define LOSSKIT_ELEMENTWISE_DEFINITIONS(X) \
  LOSSKIT_REGRESSION_LOSSES(X) LOSSKIT_CLASSIFICATION_LOSSES(X) LOSSKIT_BARRON_LOSSES(X)     \
  LOSSKIT_GLM_LOSSES(X) LOSSKIT_RANKING_LOSSES(X)
