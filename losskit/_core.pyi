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
