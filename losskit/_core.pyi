"""Type stubs of losskit's compiled core (private: use the losskit package)."""

from typing import Any

import numpy as np
import numpy.typing as npt

def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def get_isa() -> str: ...
def set_isa(isa: str) -> None: ...
def available_isas() -> list[str]: ...
def _vmath(name: str, x: npt.NDArray[np.floating[Any]], out: npt.NDArray[np.floating[Any]]) -> None: ...
def elementwise_losses() -> dict[str, tuple[int, tuple[str, ...]]]: ...
def _barron_log_partition(alpha: npt.NDArray[np.float64], return_grad: bool) -> Any: ...

class ElementwiseKernel:
    def __init__(self, name: str, params: list[float], reduction: str, third_name: str) -> None: ...
    def _call(
        self,
        mode: int,
        input: Any,
        target: Any,
        third: Any,
        sample_weight: Any,
        out: Any,
        out_third: Any,
    ) -> Any: ...
    def _call_canonical(
        self,
        mode: int,
        input: npt.NDArray[np.floating[Any]],
        target: npt.NDArray[np.floating[Any]],
        third: npt.NDArray[np.floating[Any]] | None,
        sample_weight: npt.NDArray[np.floating[Any]] | None,
        out: npt.NDArray[np.floating[Any]] | None,
        out_third: npt.NDArray[np.floating[Any]] | None,
    ) -> Any: ...
    def _call4(
        self,
        mode: int,
        input: Any,
        target: Any,
        third: Any,
        sample_weight: Any,
        out: Any,
        out_third: Any,
        fourth: Any,
        out_fourth: Any,
    ) -> Any: ...
    def _call_canonical4(
        self,
        mode: int,
        input: npt.NDArray[np.floating[Any]],
        target: npt.NDArray[np.floating[Any]],
        third: npt.NDArray[np.floating[Any]] | None,
        sample_weight: npt.NDArray[np.floating[Any]] | None,
        out: npt.NDArray[np.floating[Any]] | None,
        out_third: npt.NDArray[np.floating[Any]] | None,
        fourth: npt.NDArray[np.floating[Any]] | None,
        out_fourth: npt.NDArray[np.floating[Any]] | None,
    ) -> Any: ...
    @property
    def _arity(self) -> int: ...

# ---- update rules, clipping, penalties, gather, sampling (bind_optim.cpp) --------------------
_F = npt.NDArray[np.floating[Any]]

def _sgd_step(
    param: _F, grad: _F, momentum_buffer: _F | None, is_new: bool, lr: float, momentum: float,
    dampening: float, weight_decay: float, nesterov: bool, maximize: bool,
) -> None: ...
def _adam_step(
    param: _F, grad: _F, exp_avg: _F, exp_avg_sq: _F, max_exp_avg_sq: _F | None, step: int,
    lr: float, beta1: float, beta2: float, eps: float, weight_decay: float, amsgrad: bool,
    maximize: bool, decoupled: bool,
) -> None: ...
def _rmsprop_step(
    param: _F, grad: _F, square_avg: _F, grad_avg: _F | None, momentum_buffer: _F | None,
    lr: float, alpha: float, eps: float, weight_decay: float, momentum: float, centered: bool,
    maximize: bool,
) -> None: ...
def _adagrad_step(
    param: _F, grad: _F, sum: _F, step: int, lr: float, lr_decay: float, weight_decay: float,
    eps: float, maximize: bool,
) -> None: ...
def _total_norm(arrays: list[_F], norm_code: int) -> float: ...
def _clip_grad_norm(arrays: list[_F], max_norm: float, norm_code: int, error_if_nonfinite: bool) -> float: ...
def _clip_grad_value(arrays: list[_F], clip_value: float) -> None: ...
def _penalty(w: _F, grad: _F | None, l1: float, l2: float, want_value: bool) -> float: ...
def _penalty_prox(w: _F, l1: float, l2: float, step: float) -> None: ...
def _gather(X: npt.NDArray[Any], indices: npt.NDArray[np.int64], out: npt.NDArray[Any]) -> int: ...
def _random_permutation(seed: int, stream: int, n: int) -> npt.NDArray[np.int64]: ...
def _random_indices(seed: int, stream: int, range: int, count: int) -> npt.NDArray[np.int64]: ...
def _random_u64(key: int, counter: int) -> int: ...
def _stream_key(seed: int, stream: int) -> int: ...
