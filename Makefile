# healthclaims — `make annotate` to try it, `make test` to test it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODEL_DIR ?= models/default
MODEL := $(MODEL_DIR)/meta.json
ARTICLE ?= corpus/samples/sample-article.txt
FORMAT ?= terminal
OUT ?=
HTML_OUT ?= reports/sample-article.html
# The model is rebuilt only when the corpus or the code and rules it is trained with change.
TRAIN_INPUTS := $(shell find corpus/sentences corpus/articles -name '*.jsonl') \
	$(addprefix pipeline/,classify.py features.py extract.py nlp.py components.py corpus.py artifacts.py rules.py) \
	$(wildcard pipeline/resources/patterns/* pipeline/resources/lexicons/*)

.PHONY: setup train annotate test bench evaluate baseline compare score lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(STAMP)

$(MODEL): $(STAMP) $(TRAIN_INPUTS)
	$(BIN)/healthclaims train --corpus corpus --out $(MODEL_DIR)

train: $(MODEL)

annotate: $(MODEL)
ifeq ($(OUT),)
	@mkdir -p $(dir $(HTML_OUT))
	$(BIN)/healthclaims annotate $(ARTICLE) --format $(FORMAT) --model $(MODEL_DIR) --html-out $(HTML_OUT)
else
	$(BIN)/healthclaims annotate $(ARTICLE) --format $(FORMAT) --model $(MODEL_DIR) -o $(OUT)
endif

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests

# Score the FakeHealth corpus into runs/fakehealth/ (resumes if stopped).
SCORE_INPUT ?= ../shared/corpora/fakehealth.jsonl
SCORE_OUT ?= runs/fakehealth
score: $(MODEL)
	$(BIN)/healthclaims score $(SCORE_INPUT) --out $(SCORE_OUT) --model $(MODEL_DIR) --reports || [ $$? -eq 4 ]  # 4: some articles failed (FakeHealth has rows without text)

bench: $(MODEL)
	$(BIN)/healthclaims bench --model $(MODEL_DIR)

GOLD ?= ../shared/eval-dev
EVAL_OUT ?= reports/evaluation
CHECK ?= corpus/checks/fakehealth-blind
CHECK_TEXTS ?= ../shared/corpora/fakehealth.jsonl

# eval-dev and the Full Fact benchmark, printed and written to $(EVAL_OUT);
# then the 40 FakeHealth articles of $(CHECK), written to $(EVAL_OUT)/fakehealth-blind.
evaluate: $(MODEL)
	$(BIN)/healthclaims evaluate $(GOLD) --model $(MODEL_DIR) --out $(EVAL_OUT)
	$(BIN)/healthclaims evaluate $(CHECK) --articles $(CHECK_TEXTS) --fullfact '' --model $(MODEL_DIR) --out $(EVAL_OUT)/fakehealth-blind

# Raise the quality-gate floors, on eval-dev and on the check set, to this model's figures (ALLOW_LOWER=1 to lower them).
baseline: $(MODEL)
	$(BIN)/healthclaims evaluate $(GOLD) --model $(MODEL_DIR) --fullfact '' --update-baseline $(if $(ALLOW_LOWER),--allow-lower) > /dev/null
	$(BIN)/healthclaims evaluate $(CHECK) --articles $(CHECK_TEXTS) --model $(MODEL_DIR) --fullfact '' --update-baseline --baseline tests/quality_baseline_check.json $(if $(ALLOW_LOWER),--allow-lower) > /dev/null

# Model designs side by side: corpus cross-validation, eval-dev, the check set and Full Fact.
compare: $(STAMP)
	$(BIN)/healthclaims compare --gold $(GOLD) --check $(CHECK) --check-articles $(CHECK_TEXTS)

clean:
	rm -rf $(VENV) reports runs models/default
