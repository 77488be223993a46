"""The sidebar every page shares: what data, schedule and model are in use, and on which device."""

from __future__ import annotations

import streamlit as st

from explorer import adapters, state
from inflow_core.training import resolve_device


def render() -> None:
    """Summarise the session's selection; problems are shown here too, never silently ignored."""
    with st.sidebar:
        st.markdown("### Current selection")
        try:
            data = state.current_data()
        except ValueError as err:
            st.error(str(err))
            return
        n, dim = data.X.shape
        st.markdown(f"**Data:** {data.title} — {n:,} points, D = {dim}")
        try:
            schedule = state.current_schedule(adapters.basis_for(data.key, data.X))
            st.markdown(f"**Schedule:** {schedule.describe()}")
        except ValueError as err:
            st.error(f"Schedule: {err}")
            schedule = None
        model = st.session_state.model
        if model is not None and st.session_state.get("flow_source") == "model":
            st.markdown(f"**Model:** learned network ({model['source']})")
            if schedule is not None and (reason := state.model_mismatch(model, data, schedule)):
                st.warning(f"The model does not fit this selection: {reason}. See the Train / Load page.")
        else:
            st.markdown("**Model:** exact empirical flow (no training)")
        job = st.session_state.get("job")
        if job is not None and job.running:
            step = job.progress.step if job.progress else 0
            st.markdown(f"**Training:** running, step {step:,}")
        st.caption(f"Compute device: {resolve_device('auto')} (torch {_torch_version()}); "
                   "flows integrate in float64 on the CPU.")


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]
