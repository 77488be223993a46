"""Train / Load page: the exact flow, a network trained in the background, or a saved model."""

import hashlib

import streamlit as st
import torch

import inflow_core as ic
from explorer import jobs, layout, state
from explorer.text import plain
from inflow_core import quality, viz
from inflow_core.training import TrainConfig, resolve_device

layout.page_setup("train")
st.title("Train / Load")
layout.intro(
    "The flow needs a **denoiser**: a function that guesses the clean point behind a noisy one. For a data "
    "set you already have, the **exact** denoiser is a weighted average over all data points: no training, "
    "exact for those points, but generation can only reproduce them and it gets slow for many points. A "
    "**learned** network generalises and is fast to evaluate; train one here in the background (you can keep "
    "exploring other pages), or load a model saved earlier or shipped with the app. A model remembers the "
    "data and schedule it was trained for and is never used with others."
)

s = state.session()
data, basis, schedule = state.selection()
model = s.model


def _card_fields(fields) -> str:
    """A model card's section as readable ``name value`` pairs (4 significant digits), as plain text."""
    if not isinstance(fields, dict):
        return "not recorded"
    shown = [
        f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}"
        for name, value in fields.items()
        if value is not None
    ]
    return plain(", ".join(shown) or "not recorded", 400)


# ------------------------------------------------------------------ which flow is in use
st.subheader("Flow in use")
SOURCES = {False: "Exact empirical flow (no training)", True: "The learned model"}
if model is None:
    st.markdown(
        "The Flow page integrates the **exact empirical flow** of the data: no model has been "
        "trained or loaded in this session yet."
    )
else:
    choice = st.radio(
        "The Flow page integrates",
        list(SOURCES),
        index=int(s.use_model),
        horizontal=True,
        format_func=SOURCES.get,
        key="w.train.use_model",
        help="Exact: the flow of the data set itself. Learned: the network trained or loaded below.",
    )
    if choice != s.use_model:
        state.use_learned_model() if choice else state.use_exact_flow()
        st.rerun()
    training = model.card.get("training", {}) if isinstance(model.card.get("training"), dict) else {}
    seconds = training.get("seconds")
    st.caption(
        f"Model: {plain(model.source)}; trained for {plain(training.get('steps', '?'))} steps in "
        f"{f'{seconds:.1f}' if isinstance(seconds, int | float) else '?'} s on "
        f"{plain(training.get('device', '?'))}"
        + (" (stopped early)" if training.get("stopped") else "")
        + f". Data: {_card_fields(model.card.get('data', {}))}. "
        f"Schedule: {_card_fields(model.card.get('schedule', {}))}."
    )
    reason = state.model_mismatch(model, data, schedule)
    if reason and s.use_model:
        st.error(
            f"This model does not fit the current selection: {plain(reason, 400)}. It will not be used "
            "until the data and schedule match."
        )
    elif reason:
        st.caption(
            f"The loaded model does not fit the current selection ({plain(reason, 400)}); the exact "
            "flow is in use."
        )
    if reason and st.button(
        "Switch data and schedule to the model's",
        key="adopt_model",
        help="Load the dataset and schedule the model was trained on.",
    ):
        try:
            state.adopt_model_settings()
            st.rerun()
        except ValueError as err:
            st.error(str(err))

tab_train, tab_exact, tab_load = st.tabs(["Train a network", "Exact flow", "Load / save a model"])

with tab_train:
    devices = (
        ["auto", "cpu"]
        + (["cuda"] if torch.cuda.is_available() else [])
        + (["mps"] if torch.backends.mps.is_available() else [])
    )
    c1, c2, c3 = st.columns(3)
    seconds = c1.number_input(
        "Time budget (s)",
        min_value=1,
        max_value=1800,
        step=5,
        **state.bind("train", "seconds"),
        help="Training stops after this many seconds (or earlier with Stop). On a "
        "laptop CPU, 20-60 s give a usable 2-D model.",
    )
    steps = c1.number_input(
        "Step budget (empty = use time)",
        min_value=1,
        max_value=1_000_000,
        step=100,
        placeholder="use the time budget",
        **state.bind("train", "steps"),
        help="Train for exactly this many optimiser steps instead of a time budget.",
    )
    device = c2.selectbox(
        "Device",
        devices,
        **state.bind("train", "device", devices),
        help=f"Where to train. auto = {resolve_device('auto')} here. The trained model is "
        "always moved to the CPU (float64) for integration.",
    )
    seed = c2.number_input(
        "Training seed",
        min_value=0,
        max_value=2**31 - 1,
        **state.bind("train", "seed"),
        help="Seed for network weights and training batches: same seed, same model.",
    )
    width = c3.select_slider(
        "Network width",
        [32, 64, 128, 256],
        **state.bind("train", "width"),
        help="Neurons per hidden layer. Wider fits finer detail but trains slower.",
    )
    depth = c3.select_slider(
        "Residual blocks",
        [2, 3, 4, 6],
        **state.bind("train", "depth"),
        help="Number of residual blocks (depth) of the network.",
    )
    with st.expander("Optimiser"):
        batch = st.select_slider(
            "Batch size",
            [256, 512, 1024, 2048, 4096],
            **state.bind("train", "batch"),
            help="Noisy samples per optimiser step.",
        )
        lr = st.select_slider(
            "Learning rate",
            [5e-4, 1e-3, 2e-3, 4e-3],
            **state.bind("train", "lr"),
            help="Peak learning rate (warm-up, then cosine decay).",
        )
    fresh_possible = data.info["dataset"] not in ("upload", *quality.FIXED_DATASETS)
    if fresh_possible:
        FRESH = {True: "Fresh draws of the dataset", False: "Only the loaded points"}
        fresh = st.radio(
            "Training data",
            list(FRESH),
            format_func=FRESH.get,
            horizontal=True,
            **state.bind("train", "fresh"),
            help="Fresh draws: batches come from new samples of the same distribution (same noise), so the "
            "network learns the distribution itself, not the sampling error of the loaded points. Only "
            "the loaded points: the network learns that finite set, as the exact flow does.",
        )
    else:
        fresh = False
        st.caption(
            "This data is a fixed set (an upload or the digits): the network trains on the loaded points."
        )
    job = s.jobs.get("training")
    busy = job is not None and job.active
    running, waiting = jobs.runner().counts()
    st.caption(
        f"Trains for: {plain(data.title)}, {schedule.describe()}. One run per session; at most "
        f"{jobs.KIND_CAPS['training']} training runs on this server at a time (now {running} job(s) "
        f"running, {waiting} waiting, all kinds)."
    )
    if busy:
        st.caption("A training run of this session is going: stop it below to start another.")
    if st.button(
        "Start training",
        type="primary",
        disabled=busy,
        key="start_training",
        help="Train in the background; the progress below refreshes every second.",
    ):
        config = TrainConfig(
            seconds=float(seconds),
            steps=int(steps) if steps else None,
            batch_size=int(batch),
            lr=float(lr),
            width=int(width),
            depth=int(depth),
            seed=int(seed),
            device=device,
        )
        try:
            sampler = (
                quality.fresh_sampler(data.info["dataset"], int(seed), data.info.get("noise"))
                if fresh_possible and fresh
                else None
            )
            s.jobs["training"] = jobs.start_training(
                data.X, basis, schedule, config, data.info, data.title, sampler
            )
            busy = True  # poll from this run on
        except ValueError as err:
            st.error(str(err))

    def _job_panel() -> None:
        job = s.jobs.get("training")
        if job is None:
            st.caption("No training run in this session yet.")
            return
        live = job.detail
        p = live.progress
        if job.active:
            eta = f", about {p.eta:.0f} s left" if p and p.eta is not None else ""
            st.progress(job.fraction, text=f"{plain(job.title)}: {jobs.waiting_text(job)}" + eta)
            if p:
                st.caption(f"loss {p.loss:.4g}, {p.samples_seen:,} samples, {p.elapsed:.1f} s, lr {p.lr:.2g}")
            if st.button("Stop", key="stop_training", help="Finish now; the model trained so far is kept."):
                job.stop()
        elif job.error:
            st.error(f"Training failed: {job.error}")
        elif job.result is not None:
            res = job.result
            if not live.installed:
                live.installed = True
                state.install_model(
                    res.flow, res.card, f"trained here on {job.title[len('Training on ') :]}", res.history
                )
                st.rerun()
            steps_done = res.history[-1][0] if res.history else 0
            st.success(
                f"Training {'stopped early' if res.stopped else 'finished'} after {steps_done:,} "
                f"steps in {res.seconds:.1f} s; the model is in use on the Flow page."
            )
        history = job.result.history if job.result is not None else list(live.history)
        loss_col, preview_col = st.columns([3, 2])
        if live.preview is not None:
            step, generated = live.preview
            coords = generated[:, :2] if basis.dim <= 3 else basis.to_eigen(generated)[:, :2]
            titles = ["x1", "x2"] if basis.dim <= 3 else ["principal direction 1", "principal direction 2"]
            preview_col.plotly_chart(
                viz.data.data_preview(coords, None, titles, title=f"Samples at step {step:,}"),
                key="train_preview",
            )
            preview_col.caption(
                f"{jobs.PREVIEW_POINTS} fixed latent draws decoded every few seconds with "
                f"the model so far (tolerance {jobs.PREVIEW_TOL:g}): watch the shape form."
            )
        if len(history) > 1:
            loss_col.plotly_chart(
                viz.training.loss_curve(history, start_loss=float(basis.dim), title="Training loss"),
                key="loss_curve",
            )
            loss_col.caption(
                f"The untrained network is the Gaussian (PCA) denoiser, whose expected loss is exactly D = "
                f"{basis.dim} (dashed); training earns the part below it. Most of the loss cannot go away, "
                "because the clean point behind a noisy one is genuinely uncertain: the shipped models end "
                "about 4-10 % below D on the 2-D and 3-D toys and a third below on the 64-D digits. The "
                "curve is noisy because every batch draws fresh noise levels. Judge a model by its flow and "
                "its quality figures, not by its loss."
            )

    st.fragment(_job_panel, run_every=1.0 if busy else None)()

with tab_exact:
    st.markdown(
        f"The exact flow of **{plain(data.title)}** ({len(data.X):,} points) is ready: it needs no "
        "training. Generation with it returns (blurred) training points, because it is the flow of "
        "exactly those points."
    )
    if st.button("Use the exact flow", key="use_exact", help="Make the Flow page integrate the exact flow."):
        state.use_exact_flow()
        st.rerun()

with tab_load:
    shipped = [m["name"] for m in ic.checkpoints.shipped_models()]
    if shipped:
        choice = st.selectbox(
            "Shipped model",
            shipped,
            **state.bind("train", "shipped", shipped),
            help="Pretrained models that come with the app, one per built-in dataset and schedule.",
        )
        if st.button(
            "Load this model",
            key="load_shipped",
            help="Load it with the data and schedule it was trained on.",
        ):
            try:
                state.use_shipped_model(choice)
                st.rerun()
            except ValueError as err:
                st.error(f"Could not load {choice}: {err}")
    else:
        st.caption("No shipped models were found.")
    upload = st.file_uploader(
        "Upload a model (.safetensors)",
        type=["safetensors"],
        key="w.train.upload",
        help="A model saved by this app or by inflow_core (ic.save_flow). Only "
        "safetensors with validated metadata are read; nothing is unpickled.",
    )
    mine = state.settings("train")
    if upload is not None:
        content = upload.getvalue()
        token = (upload.name, len(content), hashlib.sha256(content).hexdigest())
        if mine.get("upload_token") != token:
            mine["upload_token"] = token
            try:
                flow = ic.load_flow(content)
                state.install_model(flow, flow.card, f"uploaded {upload.name}")
                mine["upload_error"] = None
                st.rerun()
            except ValueError as err:
                mine["upload_error"] = f"{upload.name}: {err}"
        if mine.get("upload_error"):
            st.error(f"{plain(mine['upload_error'], 600)} The previous model is kept.")
    if model is not None:
        st.download_button(
            "Download the current model",
            key="download_model",
            data=lambda: ic.checkpoints.to_bytes(model.flow, model.card),
            file_name="inflow_model.safetensors",
            mime="application/octet-stream",
            help="One .safetensors file with the network, basis, schedule and model card.",
        )
