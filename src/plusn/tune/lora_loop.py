"""The training loop of ``plusn tune lora``: steps, validation, checkpoints, resume, outputs.

A checkpoint (``out/checkpoint/``) holds the adapter, the optimizer, the step and the loss
history; it is written at every validation and when the time budget runs out, so a run that
is stopped (Ctrl-C, ``--max-minutes``, a crash) resumes from its last checkpoint with the same
data order. When the run ends, the folder holds the PEFT adapter (safetensors), ``loss.png``,
``training.json`` and, unless asked not to, ``adapter.gguf`` for llama.cpp.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import PlusnError
from .lora import TARGETS, Knobs, batches, collate, load_base, need, now, plot, read_set, save_meta, schedule, val_loss


def _shape(knobs: dict[str, Any]) -> dict[str, Any]:
    """The knobs that change what is trained (a resumed run may use other threads or time budget)."""
    return {k: v for k, v in knobs.items() if k not in ("threads", "max_minutes", "eval_every")}


class Loop:
    def __init__(self, base: Path, train_path: Path, val_path: Path | None, out: Path, knobs: Knobs, *,
                 gguf: bool, progress: bool, echo: Callable[[str], Any]) -> None:
        self.base, self.train_path, self.val_path, self.out = base, train_path, val_path, out
        self.k, self.gguf, self.progress, self.echo = knobs, gguf, progress, echo
        self.ckpt = out / "checkpoint"

    def _setup(self) -> None:
        import torch
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(self.k.seed)
        torch.set_num_threads(self.k.threads or (torch.get_num_threads()))
        t0 = now()
        model, self.tok = load_base(self.base)
        self.load_s = now() - t0
        self.train_rows = read_set(self.train_path, self.tok, self.k.max_len)
        self.val_rows = read_set(self.val_path, self.tok, self.k.max_len) if self.val_path else []
        # the validation set is ordered by length, so its padded batches waste little compute
        self.val_rows.sort(key=lambda r: len(r[0]))
        config = LoraConfig(r=self.k.rank, lora_alpha=self.k.alpha, lora_dropout=0.05, target_modules=TARGETS,
                            task_type="CAUSAL_LM")
        self.model = get_peft_model(model, config)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(params, lr=self.k.lr, weight_decay=0.0)
        self.per_epoch = math.ceil(len(self.train_rows) / self.k.batch)
        self.total = max(1, round(self.per_epoch * self.k.epochs))
        self.warmup = max(1, self.total // 20)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: schedule(s, self.total, self.warmup))
        self.step = 0
        self.history: dict[str, Any] = {"train": [], "validation": [], "seconds": 0.0}

    def _resume(self) -> bool:
        import torch
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        state = self.ckpt / "state.pt"
        if not state.is_file():
            return False
        saved = torch.load(state, weights_only=False)
        if _shape(saved["knobs"]) != _shape(self.k.__dict__):
            raise PlusnError(f"{self.ckpt} was made with other settings ({saved['knobs']}); use another --out "
                             "or delete the checkpoint")
        set_peft_model_state_dict(self.model, load_file(str(self.ckpt / "adapter_model.safetensors")))
        self.opt.load_state_dict(saved["optimizer"])
        self.sched.load_state_dict(saved["scheduler"])
        self.step, self.history = saved["step"], saved["history"]
        torch.set_rng_state(saved["rng"])
        return True

    def _checkpoint(self) -> None:
        import torch

        self.ckpt.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(self.ckpt))
        knobs = dict(self.k.__dict__)
        torch.save({"knobs": knobs, "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict(),
                    "step": self.step, "history": self.history, "rng": torch.get_rng_state()},
                   self.ckpt / "state.pt.tmp")
        (self.ckpt / "state.pt.tmp").replace(self.ckpt / "state.pt")  # never a half-written checkpoint
        plot(self.history, self.out / "loss.png")

    def _validate(self) -> None:
        if self.val_rows:
            loss = val_loss(__import__("torch"), self.model, self.val_rows, self.k.batch * 2, self.tok.pad_token_id)
            self.history["validation"].append((self.step, loss))

    def run(self) -> str:
        from tqdm import tqdm

        self.out.mkdir(parents=True, exist_ok=True)
        self._setup()
        resumed = self._resume()
        if not resumed:
            self._validate()  # the curve starts at the base model's loss
        start, budget = now(), (self.k.max_minutes * 60 if self.k.max_minutes is not None else None)
        spent = self.history["seconds"]
        bar = tqdm(total=self.total, initial=self.step, desc="lora", unit="step", disable=not self.progress)
        stopped = False
        try:
            while self.step < self.total:
                epoch, within = divmod(self.step, self.per_epoch)
                idx = batches(self.train_rows, self.k.batch, self.k.seed, epoch)[within]
                b = collate(__import__("torch"), [self.train_rows[i] for i in idx], self.tok.pad_token_id)
                loss = self.model(**b).loss
                loss.backward()
                self.opt.step()
                self.sched.step()
                self.opt.zero_grad(set_to_none=True)
                self.step += 1
                self.history["train"].append((self.step, float(loss.detach())))
                last = self.history["validation"][-1][1] if self.history["validation"] else float("nan")
                bar.set_postfix(loss=f"{float(loss.detach()):.3f}", val=f"{last:.3f}")
                bar.update(1)
                self.history["seconds"] = spent + now() - start
                if self.step % self.k.eval_every == 0 or self.step == self.total:
                    self._validate()
                    self._checkpoint()
                if budget is not None and now() - start > budget and self.step < self.total:
                    stopped = True
                    break
        except KeyboardInterrupt:
            stopped = True
        finally:
            bar.close()
        if stopped:  # a time budget spent still yields an adapter to serve and measure
            self._checkpoint()
            return (f"stopped at step {self.step}/{self.total} after {self.history['seconds'] / 60:.1f} min: "
                    f"{self._finish(resumed, stopped=True)}; run the same command again to resume from {self.ckpt}")
        return self._finish(resumed)

    def _finish(self, resumed: bool, stopped: bool = False) -> str:
        self.model.save_pretrained(str(self.out))
        plot(self.history, self.out / "loss.png")
        val = self.history["validation"]
        save_meta(self.out, self.k, self.base, {
            "steps": self.step, "examples": len(self.train_rows), "validation_examples": len(self.val_rows),
            "train_seconds": round(self.history["seconds"], 1), "load_seconds": round(self.load_s, 1),
            "validation_loss": val, "resumed": resumed, "stopped": stopped})
        line = (f"trained {self.step} steps on {len(self.train_rows)} examples in "
                f"{self.history['seconds'] / 60:.1f} min")
        if len(val) >= 2:
            line += f"; validation loss {val[0][1]:.3f} -> {val[-1][1]:.3f}"
        if self.gguf:
            from .gguf_export import export

            path = export(self.out, self.base, self.out / "adapter.gguf")
            line += f"; wrote {path}"
        (self.out / "summary.json").write_text(json.dumps({"summary": line}), encoding="utf-8")
        return line



def train(base: Path, train_path: Path, val_path: Path | None, out: Path, knobs: Knobs, *, gguf: bool = True,
          progress: bool = True, echo: Callable[[str], Any] = print) -> str:
    """Train (or resume) an adapter in ``out``; a line saying what was done."""
    need()
    return Loop(base, train_path, val_path, out, knobs, gguf=gguf, progress=progress, echo=echo).run()
