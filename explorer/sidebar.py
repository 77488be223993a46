"""The sidebar every page shares: what data, schedule and model are in use, jobs, and the device."""

from __future__ import annotations

import streamlit as st
import torch

from explorer import jobs, state
from explorer.text import plain
from inflow_core.training import resolve_device


def render() -> None:
    """Summarise the session's selection; problems are shown here too, never silently ignored."""
    s = state.session()
    with st.sidebar:
        st.markdown("### Current selection")
        try:
            data = state.current_data()
        except ValueError as err:
            st.error(str(err))
            return
        n, dim = data.X.shape
        st.markdown(f"**Data:** {plain(data.title)} — {n:,} points, D = {dim}")
        try:
            schedule = s.sched.build(state.current_basis(data))
            st.markdown(f"**Schedule:** {schedule.describe()}")
        except ValueError as err:
            st.error(f"Schedule: {err}")
            schedule = None
        if s.model is not None and s.use_model:
            st.markdown(f"**Model:** learned network ({plain(s.model.source)})")
            if schedule is not None and (reason := state.model_mismatch(s.model, data, schedule)):
                st.warning(
                    f"The model does not fit this selection: {plain(reason, 400)}. See the Train / Load page."
                )
        else:
            st.markdown("**Model:** exact empirical flow (no training)")
        job = s.jobs.get("training")
        if job is not None and job.active:
            st.markdown(f"**Training:** {jobs.waiting_text(job)}")
        st.caption(
            f"Compute device: {resolve_device('auto')} (torch {torch.__version__.split('+')[0]}); "
            "flows integrate in float64 on the CPU."
        )
