"""Train / Load page: the exact flow, a network trained in the background, or a saved model."""

import streamlit as st
import torch

import inflow_core as ic
from explorer import jobs, layout, state
from inflow_core import quality, viz
from inflow_core.training import TrainConfig, resolve_device

layout.page_setup("train")
st.title("Train / Load")
st.markdown(
    "The flow needs a **denoiser**: a function that guesses the clean point behind a noisy one. For a data "
    "set you already have, the **exact** denoiser is a weighted average over all data points: no training, "
    "exact for those points, but generation can only reproduce them and it gets slow for many points. A "
    "**learned** network generalises and is fast to evaluate; train one here in the background (you can keep "
    "exploring other pages), or load a model saved earlier or shipped with the app. A model remembers the "
    "data and schedule it was trained for and is never used with others."
)

ss = st.session_state
data, basis, schedule = state.selection()
model = ss.model


def _card_fields(fields: dict) -> str:
    """A model card's section as readable ``name value`` pairs (numbers to 4 significant digits)."""
    shown = [f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}"
             for name, value in fields.items() if value is not None]
    return ", ".join(shown) or "not recorded"


# ------------------------------------------------------------------ which flow is in use
st.subheader("Flow in use")
options = ["exact", "model"] if model is not None else ["exact"]
if ss.get("flow_source") not in options:
    ss.flow_source = "exact"
ss["w.flow_source"] = ss.flow_source  # canonical value outlives the widget when the page is left


def _choose_source() -> None:
    ss.flow_source = ss["w.flow_source"]


if model is None:
    st.markdown("The Flow page integrates the **exact empirical flow** of the data: no model has been "
                "trained or loaded in this session yet.")
else:
    st.radio("The Flow page integrates", options, horizontal=True, key="w.flow_source",
             on_change=_choose_source,
             format_func={"exact": "Exact empirical flow (no training)", "model": "The learned model"}.get,
             help="Exact: the flow of the data set itself. Learned: the network trained or loaded below.")
if model is not None:
    training = model["card"].get("training", {})
    seconds = training.get("seconds")
    st.caption(f"Model: {model['source']}; trained for {training.get('steps', '?')} steps in "
               f"{f'{seconds:.1f}' if isinstance(seconds, int | float) else '?'} s on "
               f"{training.get('device', '?')}" + (" (stopped early)" if training.get("stopped") else "")
               + f". Data: {_card_fields(model['card'].get('data', {}))}. "
               f"Schedule: {_card_fields(model['card'].get('schedule', {}))}.")
    reason = state.model_mismatch(model, data, schedule)
    if reason:
        st.error(f"This model does not fit the current selection: {reason}. It will not be used until the "
                 "data and schedule match.")
        if st.button("Switch data and schedule to the model's", key="adopt_model",
                     help="Load the dataset and schedule the model was trained on."):
            try:
                state.use_model_settings(model)
                st.rerun()
            except ValueError as err:
                st.error(str(err))

tab_train, tab_exact, tab_load = st.tabs(["Train a network", "Exact flow", "Load / save a model"])

with tab_train:
    devices = ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else []) \
        + (["mps"] if torch.backends.mps.is_available() else [])
    c1, c2, c3 = st.columns(3)
    seconds = c1.number_input("Time budget (s)", min_value=1, max_value=1800, value=20, step=5,
                              key="tr.seconds", **state.KEEP,
                              help="Training stops after this many seconds (or earlier with Stop). On a "
                                   "laptop CPU, 20-60 s give a usable 2-D model.")
    steps = c1.number_input("Step budget (empty = use time)", min_value=1, max_value=1_000_000, value=None,
                            step=100, key="tr.steps", **state.KEEP, placeholder="use the time budget",
                            help="Train for exactly this many optimiser steps instead of a time budget.")
    device = c2.selectbox("Device", devices, key="tr.device", **state.KEEP,
                          help=f"Where to train. auto = {resolve_device('auto')} here. The trained model is "
                               "always moved to the CPU (float64) for integration.")
    seed = c2.number_input("Training seed", min_value=0, max_value=2**31 - 1, value=0, key="tr.seed",
                           **state.KEEP,
                           help="Seed for network weights and training batches: same seed, same model.")
    width = c3.select_slider("Network width", [32, 64, 128, 256], value=128, key="tr.width", **state.KEEP,
                             help="Neurons per hidden layer. Wider fits finer detail but trains slower.")
    depth = c3.select_slider("Residual blocks", [2, 3, 4, 6], value=4, key="tr.depth", **state.KEEP,
                             help="Number of residual blocks (depth) of the network.")
    with st.expander("Optimiser"):
        batch = st.select_slider("Batch size", [256, 512, 1024, 2048, 4096], value=1024, key="tr.batch",
                                 **state.KEEP, help="Noisy samples per optimiser step.")
        lr = st.select_slider("Learning rate", [5e-4, 1e-3, 2e-3, 4e-3], value=2e-3, key="tr.lr",
                              **state.KEEP, help="Peak learning rate (warm-up, then cosine decay).")
    fresh_possible = data.info["dataset"] not in ("upload", *quality.FIXED_DATASETS)
    if fresh_possible:
        source = st.radio(
            "Training data", ["Fresh draws of the dataset", "Only the loaded points"], horizontal=True,
            key="tr.source", **state.KEEP,
            help="Fresh draws: batches come from new samples of the same distribution (same noise), so the "
                 "network learns the distribution itself, not the sampling error of the loaded points. Only "
                 "the loaded points: the network learns that finite set, as the exact flow does.")
    else:
        source = "Only the loaded points"
        st.caption("This data is a fixed set (an upload or the digits): the network trains on the loaded "
                   "points.")
    job = ss.get("job")
    busy = job is not None and job.running
    st.caption(f"Trains for: {data.title}, {schedule.describe()}. One job per session; at most "
               f"{jobs.MAX_CONCURRENT_JOBS} run on this server at a time ({jobs.registry().running()} "
               "running now).")
    if st.button("Start training", type="primary", disabled=busy, key="start_training",
                 help="Train in the background; the progress below refreshes every second."):
        config = TrainConfig(seconds=float(seconds), steps=int(steps) if steps else None,
                             batch_size=int(batch), lr=float(lr), width=int(width), depth=int(depth),
                             seed=int(seed), device=device)
        try:
            if ss.get("job") is not None and ss.job.running:
                raise ValueError("A training run is already going in this session: stop it first.")
            sampler = (quality.fresh_sampler(data.info["dataset"], int(seed), data.info.get("noise"))
                       if fresh_possible and source.startswith("Fresh") else None)
            ss.job = jobs.registry().start(data.X, basis, schedule, config, data.info, data.title, sampler)
            ss.job_consumed = False
            busy = True  # poll from this run on
        except ValueError as err:
            st.error(str(err))

    def _job_panel() -> None:
        job = ss.get("job")
        if job is None:
            st.caption("No training run in this session yet.")
            return
        p = job.progress
        if job.running:
            frac = p.elapsed / (p.elapsed + p.eta) if p and p.eta is not None else 0.0
            eta = f", about {p.eta:.0f} s left" if p and p.eta is not None else ""
            st.progress(min(max(frac, 0.0), 1.0),
                        text=f"Training ({job.data_title}): step {p.step if p else 0:,}" + eta)
            if p:
                st.caption(f"loss {p.loss:.4g}, {p.samples_seen:,} samples, {p.elapsed:.1f} s, lr {p.lr:.2g}")
            if st.button("Stop", key="stop_training", help="Finish now; the model trained so far is kept."):
                job.stop()
        elif job.error:
            st.error(f"Training failed: {job.error}")
        elif job.result is not None:
            res = job.result
            if not ss.get("job_consumed"):
                ss.job_consumed = True
                state.install_model(res.flow, res.card, f"trained here on {job.data_title}", res.history)
                st.rerun()
            steps = res.history[-1][0] if res.history else 0
            st.success(f"Training {'stopped early' if res.stopped else 'finished'} after {steps:,} steps in "
                       f"{res.seconds:.1f} s; the model is in use on the Flow page.")
        history = job.result.history if job.result is not None else list(job.history)
        if len(history) > 1:
            st.plotly_chart(viz.training.loss_curve(history, start_loss=float(basis.dim),
                                                     title="Training loss"), key="loss_curve")
            st.caption(
                f"The untrained network is the Gaussian (PCA) denoiser, whose expected loss is exactly D = "
                f"{basis.dim} (dashed); training earns the part below it. Most of the loss cannot go away, "
                "because the clean point behind a noisy one is genuinely uncertain: the shipped models end "
                "about 4-10 % below D on the 2-D and 3-D toys and a third below on the 64-D digits. The "
                "curve is noisy because every batch draws fresh noise levels. Judge a model by its flow and "
                "its quality figures, not by its loss.")

    st.fragment(_job_panel, run_every=1.0 if busy else None)()

with tab_exact:
    st.markdown(f"The exact flow of **{data.title}** ({len(data.X):,} points) is ready: it needs no "
                "training. Generation with it returns (blurred) training points, because it is the flow of "
                "exactly those points.")
    if st.button("Use the exact flow", key="use_exact", help="Make the Flow page integrate the exact flow."):
        ss.flow_source = "exact"
        st.rerun()

with tab_load:
    shipped = ic.checkpoints.shipped_models()
    if shipped:
        names = [m["name"] for m in shipped]
        choice = st.selectbox("Shipped model", names, key="ld.shipped",
                              help="Pretrained models that come with the app, one per built-in dataset.")
        entry = shipped[names.index(choice)]
        st.caption(f"{entry['dataset']}, {entry['family']} schedule.")
        if st.button("Load this model", key="load_shipped",
                     help="Load it; if it was trained on other data, you can switch to that data."):
            try:
                flow = ic.load_flow(entry["path"])
                state.install_model(flow, flow.card, f"shipped model {choice}")
                st.rerun()
            except ValueError as err:
                st.error(f"Could not load {choice}: {err}")
    else:
        st.caption("No shipped models in assets/models/.")
    upload = st.file_uploader("Upload a model (.safetensors)", type=["safetensors"], key="ld.upload",
                              help="A model saved by this app or by inflow_core (ic.save_flow). Only "
                                   "safetensors with validated metadata are read; nothing is unpickled.")
    if upload is not None:
        content = upload.getvalue()
        token = (upload.name, len(content), hash(content))
        if ss.get("model_upload_token") != token:
            ss.model_upload_token = token
            try:
                flow = ic.load_flow(content)
                state.install_model(flow, flow.card, f"uploaded {upload.name}")
                ss.model_upload_error = None
                st.rerun()
            except ValueError as err:
                ss.model_upload_error = f"{upload.name}: {err}"
        if ss.get("model_upload_error"):
            st.error(f"{ss.model_upload_error} The previous model is kept.")
    if model is not None:
        st.download_button("Download the current model", key="download_model",
                           data=lambda: ic.checkpoints.to_bytes(model["flow"], model["card"]),
                           file_name="inflow_model.safetensors", mime="application/octet-stream",
                           help="One .safetensors file with the network, basis, schedule and model card.")
