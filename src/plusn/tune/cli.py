"""``plusn tune data|lora|gguf|merge``: a training set from what plusn has, a LoRA adapter on CPU, GGUF
adapters for llama.cpp, and an adapter merged into its base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import jsonl
from ..cli_shared import clear_errors, config_option, run_on_deployment, settings_for
from ..errors import ConfigError
from ..evals.progress import Bar
from ..learning.cli import seconds
from . import data, sources
from .gguf_merge import TYPES, merge


@click.group("tune")
def tune() -> None:
    """Vertical models: training data, LoRA adapters on CPU, adapters in GGUF for llama.cpp."""


def _prompts(path: Path) -> list[str]:
    out = []
    for n, row in jsonl.numbered(path, "prompts"):
        prompt = row.get("prompt") if isinstance(row, dict) else row
        if not isinstance(prompt, str) or not prompt.strip():
            raise ConfigError(f"{path}:{n}: expected a string or an object with a prompt", key="prompt")
        out.append(prompt)
    return out


async def _collect(d: Any, opts: dict[str, Any]) -> tuple[list[sources.Example], dict[str, Any]]:
    """Every example the options ask for, and what was asked (for the manifest)."""
    frame: sources.Framer = sources.bare
    if opts["skill"]:
        skill = d.fleet.member(f"skill:{opts['skill']}")

        def frame(text: str) -> list[sources.Message]:
            return skill.messages(skill.variables({skill.skill.spec.input_variable(): text}))
    elif opts["system"]:
        def frame(text: str) -> list[sources.Message]:
            return [{"role": "system", "content": opts["system"]}, *sources.bare(text)]
    inputs: dict[str, Any] = {"skill": opts["skill"], "system": opts["system"]}
    examples = sources.from_files([Path(p) for p in opts["examples"]], frame)
    inputs["files"] = list(opts["examples"])
    if opts["captured"] is not None:
        got = sources.captured(d.settings, opts["captured"] or None, opts["min_score"],
                               seconds(opts["since"]) if opts["since"] else None)
        examples += got
        inputs["captured"] = {"route": opts["captured"] or "*", "min_score": opts["min_score"], "kept": len(got)}
    if opts["distill"]:
        prompts = _prompts(Path(opts["prompts"]))
        bar = Bar(opts["progress"], f"distil from {opts['distill']}", "prompt")
        try:
            got = [ex async for ex in sources.distilled(d.fleet.run, opts["distill"], prompts, frame,
                                                        max_tokens=opts["max_tokens"], tick=bar.update)]
        finally:
            bar.close()
        examples += got
        inputs["distilled"] = {"teacher": opts["distill"], "prompts": opts["prompts"], "answered": len(got)}
    if opts["kb"]:
        kb = await d.knowledge.get(opts["kb"])
        ids = sorted(kb.store.doc_of_chunks())[: opts["qa_limit"]]
        chunks = [kb.store.fetch(ids)[i] for i in ids]
        bar = Bar(opts["progress"], f"questions from {opts['kb']}", "chunk")
        try:
            got = [ex async for ex in sources.kb_qa(d.fleet.run, opts["qa_model"], chunks, kb=opts["kb"],
                                                    max_tokens=opts["max_tokens"], tick=bar.update)]
        finally:
            bar.close()
        examples += got
        inputs["kb_qa"] = {"kb": opts["kb"], "author": opts["qa_model"], "chunks": len(chunks), "pairs": len(got)}
    return examples, inputs


@tune.command("data")
@config_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write the set to.")
@click.option("--examples", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="JSONL of {messages} or {prompt, answer|reference} rows (an arena task file works). Repeatable.")
@click.option("--skill", default=None, help="Frame prompts as this skill does (its system prompt and template).")
@click.option("--system", default=None, help="Or: a system message to put before every prompt.")
@click.option("--captured", default=None, help="Add captured conversations rated good, of this route ('' = every route).")
@click.option("--min-score", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Lowest feedback score of a captured answer (when feedback gives no `correct`).")
@click.option("--since", default=None, help="Only captures of the last span, e.g. 30d.")
@click.option("--distill", default=None, help="Ask this model or route (the large one) every --prompts prompt.")
@click.option("--prompts", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSONL of prompts (strings, or objects with a prompt) for --distill.")
@click.option("--kb", default=None, help="Write question-answer pairs from this knowledge base's chunks...")
@click.option("--qa-model", default=None, help="... with this model (a capable one), citing each pair's passage.")
@click.option("--qa-limit", type=click.IntRange(min=1), default=200, show_default=True, help="Chunks to write pairs from.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=512, show_default=True,
              help="Longest generated answer (--distill, --kb).")
@click.option("--validation", type=click.FloatRange(0, 0.9), default=0.1, show_default=True,
              help="Share of examples held out for validation.")
@click.option("--seed", type=int, default=0, show_default=True, help="Changes which examples are held out.")
@click.option("--llamafactory", default=None, metavar="NAME",
              help="Also write dataset_info.json with a LLaMA-Factory entry NAME (and NAME_validation).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def data_command(config_path: str | None, out_dir: str, **opts: Any) -> None:
    """Build an SFT set (chat JSONL, train/validation, manifest) from files, traffic, a model or a KB."""
    if opts["distill"] and not opts["prompts"]:
        raise click.UsageError("--distill needs --prompts")
    if opts["kb"] and not opts["qa_model"]:
        raise click.UsageError("--kb needs --qa-model, the model that writes the questions")
    if not (opts["examples"] or opts["captured"] is not None or opts["distill"] or opts["kb"]):
        raise click.UsageError("give at least one source: --examples, --captured, --distill or --kb")
    opts["progress"] = not opts.pop("no_progress")
    settings = settings_for(config_path)
    examples, inputs = run_on_deployment(settings, lambda d: _collect(d, opts))
    built = data.build(examples, validation=opts["validation"], seed=opts["seed"])
    if not built.train:
        raise click.ClickException("no training examples: every source came back empty")
    with clear_errors():
        manifest = data.write(built, Path(out_dir), validation=opts["validation"], seed=opts["seed"],
                              inputs=inputs, llamafactory=opts["llamafactory"])
    click.echo(f"wrote {out_dir}: {manifest['examples']['train']} train, {manifest['examples']['validation']} "
               f"validation; sources {manifest['sources']}; {built.duplicates} duplicates dropped; "
               f"redacted {dict(built.redacted) or 'nothing'}")
    if opts["llamafactory"]:
        click.echo(f"LLaMA-Factory: dataset_dir: {out_dir}, dataset: {opts['llamafactory']}, "
                   f"eval_dataset: {opts['llamafactory']}_validation")


@tune.command("lora")
@click.option("--base", required=True, help="A GGUF file, pkg:<package>/<file>, or a model name of the config.")
@config_option
@click.option("--data", "train_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Training chat JSONL (from plusn tune data).")
@click.option("--validation", "val_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Validation chat JSONL (default: validation.jsonl beside --data, if there).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Adapter folder.")
@click.option("--rank", type=click.IntRange(1, 256), default=16, show_default=True)
@click.option("--alpha", type=float, default=32.0, show_default=True)
@click.option("--epochs", type=click.FloatRange(min=0.01), default=1.0, show_default=True)
@click.option("--lr", type=float, default=5e-4, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--max-len", type=click.IntRange(min=16), default=256, show_default=True,
              help="Longest example in tokens (longer ones are cut from the left of the prompt).")
@click.option("--eval-every", type=click.IntRange(min=1), default=25, show_default=True, help="Steps between validation losses.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads (default: every core).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-minutes", type=float, default=None, help="Stop (and save) after this long; resume later.")
@click.option("--no-gguf", is_flag=True, help="Do not write adapter.gguf for llama.cpp.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def lora_command(base: str, config_path: str | None, train_path: str, val_path: str | None, out_dir: str,
                 **opts: Any) -> None:
    """Fine-tune a LoRA adapter on CPU (PEFT + transformers): resumable, with a loss curve and GGUF."""
    from . import lora, lora_loop

    with clear_errors():
        base_path = lora.base_file(base, config_path)
        if val_path is None and (Path(train_path).parent / "validation.jsonl").is_file():
            val_path = str(Path(train_path).parent / "validation.jsonl")
        summary = lora_loop.train(base_path, Path(train_path), Path(val_path) if val_path else None, Path(out_dir),
                             lora.Knobs(**{k: v for k, v in opts.items() if k not in ("no_gguf", "no_progress")}),
                             gguf=not opts["no_gguf"], progress=not opts["no_progress"], echo=click.echo)
    click.echo(summary)


@tune.command("gguf")
@click.argument("adapter_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--base", required=True, help="The base GGUF the adapter was trained on (its shapes and heads).")
@click.option("--out", "out_path", default=None, help="Default: ADAPTER_DIR/adapter.gguf")
def gguf_command(adapter_dir: str, base: str, out_path: str | None) -> None:
    """Convert a PEFT LoRA adapter (safetensors) to a GGUF adapter that llama.cpp loads."""
    from . import lora
    from .gguf_export import export

    with clear_errors():
        base_path = lora.base_file(base, None)
        out = export(Path(adapter_dir), base_path, Path(out_path) if out_path else Path(adapter_dir) / "adapter.gguf")
    click.echo(f"wrote {out}")


@tune.command("merge")
@click.argument("adapter", type=click.Path(exists=True, dir_okay=False))
@click.option("--base", required=True, help="The base GGUF the adapter was trained on: a path, pkg:<package>/<file> "
                                            "or a model name of the config.")
@click.option("--out", "out_path", required=True, help="The merged model's GGUF file.")
@click.option("--type", "kind", type=click.Choice(["auto", *TYPES]), default="auto", show_default=True,
              help="GGUF type of the merged weights (auto: the base's if 8 bits or more, else Q8_0).")
@click.option("--scale", type=float, default=1.0, show_default=True, help="The adapter's weight, as lora_scale.")
@config_option
def merge_command(adapter: str, base: str, out_path: str, kind: str, scale: float, config_path: str | None) -> None:
    """Merge a GGUF LoRA adapter into a copy of its base: one model that decodes at full speed."""
    from .lora import base_file

    with clear_errors():
        out, n = merge(Path(adapter), base_file(base, config_path), Path(out_path), scale=scale, kind=kind)
    click.echo(f"wrote {out}: {n} weights merged")
