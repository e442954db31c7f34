"""One component of the audit's LP in HiGHS (``transforms.privacy.audit``): built once, then
maximised in one direction after another from the previous basis."""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

SIMPLEX_DUAL, SIMPLEX_PRIMAL = 1, 4  # HiGHS's simplex_strategy values


class ComponentModel:
    """One component's LP, ``lower ≤ A x ≤ upper_rows``, ``0 ≤ x ≤ upper``, re-solved with new
    objectives."""

    def __init__(self, a: sp.csc_matrix, lower: np.ndarray, upper_rows: np.ndarray, upper: float):
        self.n = a.shape[1]
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = a.shape[0]
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = np.zeros(self.n)
        lp.col_upper_ = np.full(self.n, upper)
        # an at-least relation, or an outside sum with one bound: infinite on the other side
        lp.row_lower_ = np.where(np.isfinite(lower), lower, -highspy.kHighsInf)
        lp.row_upper_ = np.where(np.isfinite(upper_rows), upper_rows, highspy.kHighsInf)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr
        lp.a_matrix_.index_ = a.indices
        lp.a_matrix_.value_ = a.data
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("presolve", "off")  # keep the basis between objectives
        # the first solve starts from nothing: the dual simplex finds a basis many times
        # faster than the primal on a district's LP
        self.highs.setOptionValue("simplex_strategy", SIMPLEX_DUAL)
        self.highs.passModel(lp)
        self.highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.columns = np.arange(self.n, dtype=np.int32)

    def maximise(self, objective: np.ndarray) -> np.ndarray | None:
        self.highs.changeColsCost(self.n, self.columns, objective.astype(float))
        self.highs.run()
        # later objectives start from this basis, which stays feasible for the primal
        self.highs.setOptionValue("simplex_strategy", SIMPLEX_PRIMAL)
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.asarray(self.highs.getSolution().col_value)

    def binding_rows(self) -> np.ndarray:
        """Rows whose dual is non-zero in the last solve: the relations that limit the cell."""
        duals = np.asarray(self.highs.getSolution().row_dual)
        return np.flatnonzero(np.abs(duals) > 1e-9)
