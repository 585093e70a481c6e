"""Synthetic routing outcome files ("model ladders") for unit tests and held-out checks.

Each file has the format of the routing outcome files ``plusn eval routing`` reads: a header line naming the
models and their sizes, then one line per prompt with every model's final answer, whether it is
right, and how many tokens it wrote. Nothing here is real model output; the point is a family of
ladders with known, different shapes (strong small models, a largest model that is not the best,
a dominating mid-size model, useless small models, topic specialists), so that a routing method
can be checked on shapes it was not tuned on.

How a file is drawn (numpy only, deterministic by ``seed``):

- each prompt has a topic, a language (about a third Chinese) and a latent difficulty, the sum of
  a *visible* part, which the text shows (more quantities, larger numbers, longer stems and code)
  and a *hidden* part, which it does not. Topic vocabulary, filler sentences and, now and then, a
  sentence from another topic make the text a partial, noisy signal of both;
- a model answers right with probability ``sigmoid(slope * (ability + bonus - difficulty))``,
  where ``bonus`` is its skill on the prompt's topic (stated strengths plus a random spread) and
  on Chinese. ``ability`` is solved so that the model's accuracy over the file is the shape's
  stated target: the noisy scores are ranked and exactly that many rows, among those where the
  model gives an answer, are right. Errors are correlated through the shared difficulty;
- some answers are missing (``null``), more often on hard prompts; a missing answer is never
  right. Wrong answers come from a per-prompt set of plausible wrong values, with weights, so two
  wrong models sometimes give the same one: often for letters, sometimes for numbers, rarely for
  formulas and code values;
- output tokens follow each model's verbosity, grow with difficulty, and are longer when the
  model is wrong or gives no answer.

``python tests/ladders.py OUTDIR [--rows N] [--seed S]`` writes one ``<shape>.jsonl`` per shape.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

SOURCE = "synthetic (tests/ladders.py)"
Rng = np.random.Generator
T = TypeVar("T")
# (topic, language, visible difficulty, rng) -> (prompt, gold when the text determines it)
PromptFn = Callable[[str, str, float, Rng], tuple[str, str | None]]


# --- shapes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    name: str
    params_b: float
    accuracy: float  # the share of rows it gets right, over the whole file
    tokens: float  # typical output tokens on a prompt of average difficulty
    null: float = 0.01  # the share of rows with no final answer (more on hard rows)
    strengths: tuple[tuple[str, float], ...] = ()  # (topic, bonus in units of difficulty)
    zh: float = 0.0  # bonus on Chinese prompts


@dataclass(frozen=True)
class Shape:
    name: str
    task: str
    domain: str  # "word" (numbers), "competition" (formulas), "choice" (letters), "code" (values)
    models: tuple[Model, ...]
    slope: float = 1.6
    spread: float = 0.3  # random per-(model, topic) skill on top of the stated strengths


def _m(name: str, params: float, acc: float, tokens: float, null: float = 0.01, zh: float = 0.0,
       **strengths: float) -> Model:
    return Model(name, params, acc, tokens, null, tuple(strengths.items()), zh)


_SHAPE_LIST = (
    # GSM8K-like: the small models are decent and agree when right; the largest is best.
    Shape("strong-small", "synth-arith", "word", (
        _m("pip-2b", 2.2, 0.55, 110, 0.01), _m("pip-4b", 3.8, 0.80, 170, 0.01), _m("wren-7b", 7.1, 0.79, 115, zh=0.3),
        _m("wren-8b", 8.0, 0.84, 140), _m("kite-9b", 9.2, 0.85, 105), _m("kite-27b", 27.0, 0.89, 100),
        _m("heron-70b", 70.0, 0.935, 130), _m("osprey-72b", 72.0, 0.92, 100, zh=0.4),
        _m("condor-405b", 405.0, 0.955, 135),
    ), slope=2.2),
    # The largest model is clearly worse than a 70B one.
    Shape("largest-not-best", "synth-word-math", "word", (
        _m("dace-2b", 2.0, 0.42, 120, 0.02), _m("dace-8b", 8.0, 0.62, 130), _m("ide-9b", 9.4, 0.66, 110),
        _m("ide-14b", 14.0, 0.72, 115), _m("ruff-32b", 32.0, 0.79, 120, zh=0.3), _m("ruff-70b", 70.0, 0.89, 125),
        _m("tarpon-110b", 110.0, 0.84, 140), _m("tarpon-180b", 180.0, 0.83, 150),
        _m("marlin-400b", 400.0, 0.81, 170, 0.02),
    ), slope=2.0),
    # A ~30B model is as good as anything larger at about a twentieth of the largest's cost.
    Shape("mid-dominates", "synth-grade-math", "word", (
        _m("lark-2b", 2.5, 0.46, 120, 0.02), _m("lark-7b", 7.0, 0.63, 125), _m("finch-9b", 9.0, 0.70, 110),
        _m("finch-14b", 14.0, 0.76, 120), _m("jay-30b", 30.0, 0.905, 95), _m("jay-70b", 70.0, 0.88, 125),
        _m("rook-120b", 120.0, 0.885, 130), _m("raven-400b", 400.0, 0.89, 140),
    ), slope=2.0),
    # Like MATH level 5: small models nearly useless, a ~120B model close to the ~400B one.
    Shape("useless-small", "synth-competition", "competition", (
        _m("moss-2b", 2.6, 0.03, 260, 0.16), _m("moss-4b", 3.8, 0.07, 360, 0.08), _m("fern-7b", 7.5, 0.06, 240, 0.05),
        _m("fern-8b", 8.0, 0.04, 200, 0.12), _m("sedge-9b", 9.0, 0.09, 270, 0.03), _m("sedge-27b", 27.0, 0.19, 250),
        _m("oak-34b", 34.0, 0.16, 260), _m("oak-70b", 70.0, 0.25, 160), _m("elm-72b", 72.7, 0.37, 200, zh=0.3),
        _m("cedar-123b", 123.0, 0.475, 230), _m("sequoia-405b", 405.0, 0.50, 350, 0.04),
    ), slope=1.8, spread=0.4),
    # Multiple choice with topic specialists: per topic, a small or mid model matches the largest.
    Shape("letters", "synth-mcq", "choice", (
        _m("quill-3b", 3.0, 0.50, 60), _m("ember-7b", 7.0, 0.57, 80, law=2.4),
        _m("quill-8b", 8.0, 0.60, 70, biology=2.4, medicine=1.6), _m("slate-12b", 12.0, 0.63, 75, history=2.2),
        _m("slate-24b", 24.0, 0.68, 80, economics=2.0, zh=0.4), _m("loom-32b", 32.0, 0.70, 90, physics=2.0),
        _m("loom-70b", 70.0, 0.76, 95, medicine=1.2), _m("prism-110b", 110.0, 0.78, 100),
        _m("vault-405b", 405.0, 0.83, 120),
    ), slope=1.8, spread=0.35),
    # Code outputs with topic specialists; the largest is best overall.
    Shape("code-values", "synth-code-output", "code", (
        _m("byte-2b", 2.4, 0.30, 90, 0.03), _m("byte-7b", 6.7, 0.42, 100, 0.02, strings=2.4),
        _m("gear-8b", 8.0, 0.46, 110, lists=2.2), _m("gear-15b", 15.0, 0.52, 110, dicts=2.2, sorting=1.2),
        _m("spool-22b", 22.0, 0.57, 120, recursion=2.2), _m("spool-34b", 34.0, 0.62, 120, bitwise=2.2, zh=0.3),
        _m("forge-70b", 70.0, 0.68, 130), _m("forge-120b", 120.0, 0.72, 140), _m("anvil-400b", 400.0, 0.79, 160),
    ), slope=1.8, spread=0.35),
    # Formula answers, a middle-of-the-road ladder.
    Shape("formulas", "synth-algebra", "competition", (
        _m("mint-2b", 2.0, 0.20, 220, 0.06), _m("mint-4b", 4.0, 0.26, 240, 0.04), _m("sage-7b", 7.0, 0.32, 200),
        _m("sage-9b", 9.0, 0.38, 210), _m("thyme-14b", 14.0, 0.45, 220), _m("thyme-32b", 32.0, 0.52, 230),
        _m("basil-70b", 70.0, 0.60, 200), _m("dill-72b", 72.0, 0.58, 210, zh=0.4), _m("basil-123b", 123.0, 0.66, 240),
        _m("laurel-405b", 405.0, 0.71, 260, 0.02),
    ), slope=1.8),
)
SHAPES: tuple[str, ...] = tuple(s.name for s in _SHAPE_LIST)
_BY_NAME = {s.name: s for s in _SHAPE_LIST}


def shape(name: str) -> Shape:
    """A shape's definition (models, target accuracies, domain)."""
    if name not in _BY_NAME:
        raise ValueError(f"unknown shape {name!r}; one of {', '.join(SHAPES)}")
    return _BY_NAME[name]


# --- prompt text -------------------------------------------------------------------------------

_SLOT = re.compile(r"\{(name|a|b|c|d|e|p|w|w2|ch|t|t2|t3|role|call)\}")
_NAMES = {"en": ["Janet", "Tom", "Priya", "Carlos", "Mei", "Omar", "Lena", "Sam", "Ines", "Kofi"],
          "zh": ["小明", "小红", "王老师", "李阿姨", "张伟", "小刚", "陈静", "刘洋"]}
_FILLER = {
    "en": ["Think it through before answering.", "This one is from last week's worksheet.", "Show your work.",
           "(Assume nothing else changes.)", "It is a busy Saturday.", "My teacher says this one is tricky.",
           "Please answer quickly.", "I got a different answer from my friend.", "Keep the answer short."],
    "zh": ["请一步一步思考。", "这是上周练习册上的题。", "假设其他条件不变。", "今天天气不错。", "老师说这道题有点难。",
           "请尽快回答。", "我和同学算出来的不一样。", "请写出过程。", "周末作业。"],
}
_NOISE_WORDS = {"en": ["really", "also", "actually", "basically", "again", "meanwhile", "honestly", "anyway"],
                "zh": ["其实", "另外", "顺便说一下", "总之", "对了", "话说"]}

# word problems: per topic, facts and questions in each language
_WORD: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "shopping": {
        "en": (["{name} buys {a} notebooks at ${b} each.", "A jacket costs ${a} and is on sale for {p}% off.",
                "{name} pays with a ${a} bill at the store.", "Each box of pencils holds {a} pencils and costs ${b}.",
                "The shop takes ${a} off orders over ${b}."],
               ["How much money does {name} spend in total?", "How many dollars of change does {name} get back?"]),
        "zh": (["{name}在商店买了{a}本笔记本，每本{b}元。", "一件外套原价{a}元，现在降价{p}%。",
                "{name}付了一张{a}元的钞票。", "每盒铅笔有{a}支，售价{b}元。", "商店满{b}元减{a}元。"],
               ["{name}一共花了多少元？", "{name}应该找回多少元？"]),
    },
    "travel": {
        "en": (["A train travels at {a} miles per hour for {b} hours.", "{name} drives {a} kilometers to the lake and back.",
                "The bus comes every {a} minutes and the trip takes {b} stops.",
                "{name} walks {a} blocks, then cycles {b} miles at {c} miles per hour.", "The flight is delayed by {a} minutes."],
               ["How many miles does {name} travel in total?", "How many minutes does the whole trip take?"]),
        "zh": (["一列火车以每小时{a}千米的速度行驶了{b}小时。", "{name}开车去湖边再回来，单程{a}千米。",
                "公交车每{a}分钟一班，全程{b}站。", "{name}先步行{a}米，再骑车{b}千米。", "航班延误了{a}分钟。"],
               ["{name}一共走了多少千米？", "整个行程需要多少分钟？"]),
    },
    "baking": {
        "en": (["A recipe needs {a} cups of flour for every {b} cookies.",
                "{name} bakes {a} trays of muffins with {b} muffins on each tray.",
                "Each cake uses {a} eggs and {b} grams of sugar.", "{name} gives {a} cupcakes to the neighbours.",
                "The oven fits {a} loaves of bread at a time."],
               ["How many cookies can {name} bake?", "How many muffins are left?"]),
        "zh": (["做{b}块饼干需要{a}杯面粉。", "{name}烤了{a}盘松饼，每盘{b}个。", "每个蛋糕要用{a}个鸡蛋和{b}克糖。",
                "{name}送给邻居{a}个纸杯蛋糕。", "烤箱一次能放{a}条面包。"],
               ["{name}能做多少块饼干？", "还剩多少个松饼？"]),
    },
    "farm": {
        "en": (["{name}'s ducks lay {a} eggs per day.", "A farmer has {a} cows and {b} chickens.",
                "Each sheep gives {a} pounds of wool a year.", "{name} plants {a} rows of corn with {b} plants in each row.",
                "The barn holds {a} bales of hay."],
               ["How many eggs are there after {c} days?", "How many legs are there on the farm?"]),
        "zh": (["{name}家的鸭子每天下{a}个蛋。", "农场里有{a}头牛和{b}只鸡。", "每只羊一年产{a}斤羊毛。",
                "{name}种了{a}行玉米，每行{b}株。", "谷仓能放{a}捆干草。"],
               ["{c}天后一共有多少个蛋？", "农场里一共有多少条腿？"]),
    },
    "school": {
        "en": (["A class has {a} students and {p}% of them are girls.",
                "{name} scored {a} points on the first test and {b} on the second.",
                "The school orders {a} chairs for {b} classrooms.",
                "Each student reads {a} pages of a {b}-page book every night.", "{a} students join the chess club."],
               ["How many students are boys?", "What is {name}'s average score?"]),
        "zh": (["一个班有{a}名学生，其中{p}%是女生。", "{name}第一次考试得了{a}分，第二次得了{b}分。",
                "学校为{b}间教室订购了{a}把椅子。", "每个学生每晚读一本{b}页的书中的{a}页。", "有{a}名学生参加了象棋社。"],
               ["男生有多少名？", "{name}的平均分是多少？"]),
    },
    "wages": {
        "en": (["{name} earns ${a} per hour and works {b} hours a week.",
                "The bank pays {p}% interest per year on a ${a} deposit.", "{name} saves ${a} every month for {b} months.",
                "Overtime pays {c} times the normal rate.", "Rent is ${a} a month, split between {c} roommates."],
               ["How much does {name} earn in a month?", "How many dollars does {name} save in a year?"]),
        "zh": (["{name}每小时挣{a}元，每周工作{b}小时。", "银行对{a}元存款支付每年{p}%的利息。",
                "{name}每个月存{a}元，存了{b}个月。", "加班工资是正常工资的{c}倍。", "房租每月{a}元，由{c}个室友平分。"],
               ["{name}一个月挣多少元？", "{name}一年能存多少元？"]),
    },
}

# competition problems (LaTeX), per topic
_COMPETITION: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "algebra": {
        "en": (["Let $f(x) = {a}x^2 - {b}x + {c}$.", "The sum of two numbers is ${a}$ and their difference is ${b}$.",
                "Suppose ${a}x + {b} = {c}x - {d}$.", "A line passes through $({a}, {b})$ and $({c}, {d})$."],
               ["Find $f^{-1}({a})$ in simplest form.", "What is the value of $x$? Express your answer as a common fraction."]),
        "zh": (["设 $f(x) = {a}x^2 - {b}x + {c}$。", "两数之和为 ${a}$，之差为 ${b}$。", "已知 ${a}x + {b} = {c}x - {d}$。",
                "一条直线经过点 $({a}, {b})$ 和 $({c}, {d})$。"],
               ["求 $x$ 的值，用最简分数表示。", "求 $f^{-1}({a})$，化为最简形式。"]),
    },
    "geometry": {
        "en": (["A circle of radius ${a}$ is inscribed in a square.",
                "Triangle $ABC$ has $AB = {a}$, $BC = {b}$ and $\\angle B = 60^\\circ$.",
                "A regular hexagon has side length ${a}$.", "A cone has height ${a}$ and slant height ${b}$."],
               ["Find the area. Express your answer in simplest radical form.", "What is the exact length of $AC$?"]),
        "zh": (["半径为 ${a}$ 的圆内切于一个正方形。", "三角形 $ABC$ 中，$AB = {a}$，$BC = {b}$，$\\angle B = 60^\\circ$。",
                "正六边形的边长为 ${a}$。", "圆锥的高为 ${a}$，母线长为 ${b}$。"],
               ["求面积，结果用最简根式表示。", "求 $AC$ 的精确长度。"]),
    },
    "number-theory": {
        "en": (["Let $n$ be the smallest positive integer with exactly ${a}$ divisors.",
                "Consider the remainder when ${a}^{{b}}$ is divided by ${c}$.",
                "$\\gcd(m, {a}) = {b}$ and $\\operatorname{lcm}(m, {a}) = {c}$.", "Let $S$ be the set of divisors of ${a}$."],
               ["Find the answer in base ${e}$.", "What is the sum of the elements of $S$ modulo ${c}$?"]),
        "zh": (["设 $n$ 是恰有 ${a}$ 个约数的最小正整数。", "考虑 ${a}^{{b}}$ 除以 ${c}$ 的余数。",
                "已知 $\\gcd(m, {a}) = {b}$，$\\operatorname{lcm}(m, {a}) = {c}$。", "设 $S$ 为 ${a}$ 的全体约数组成的集合。"],
               ["用 ${e}$ 进制表示答案。", "求 $S$ 中元素之和模 ${c}$ 的值。"]),
    },
    "probability": {
        "en": (["A bag has ${a}$ red and ${b}$ blue marbles.", "Two fair dice are rolled ${e}$ times.",
                "A committee of ${e}$ is chosen from ${a}$ people.", "A coin lands heads with probability $\\frac{1}{{e}}$."],
               ["What is the probability? Express your answer as a common fraction.", "How many arrangements are possible?"]),
        "zh": (["袋中有 ${a}$ 个红球和 ${b}$ 个蓝球。", "两枚均匀的骰子掷 ${e}$ 次。", "从 ${a}$ 人中选出 ${e}$ 人组成委员会。",
                "一枚硬币正面朝上的概率为 $\\frac{1}{{e}}$。"],
               ["求概率，用最简分数表示。", "共有多少种不同的排法？"]),
    },
    "precalculus": {
        "en": (["Let $\\theta$ satisfy $\\sin\\theta = \\frac{{e}}{{c}}$.",
                "Let $M = \\begin{pmatrix} {a} & {b} \\\\ {c} & {d} \\end{pmatrix}$.",
                "A point has polar coordinates $({a}, \\frac{\\pi}{{e}})$.", "Let $z = {a} + {b}i$."],
               ["Find $\\cos 2\\theta$.", "Compute the answer in rectangular form."]),
        "zh": (["设 $\\theta$ 满足 $\\sin\\theta = \\frac{{e}}{{c}}$。", "设矩阵 $M = \\begin{pmatrix} {a} & {b} \\\\ {c} & {d} \\end{pmatrix}$。",
                "某点的极坐标为 $({a}, \\frac{\\pi}{{e}})$。", "设复数 $z = {a} + {b}i$。"],
               ["求 $\\cos 2\\theta$。", "用直角坐标表示结果。"]),
    },
    "intermediate-algebra": {
        "en": (["Let $p(x) = x^3 - {a}x^2 + {b}x - {c}$ have roots $r, s, t$.",
                "Consider the ellipse $\\frac{x^2}{{a}} + \\frac{y^2}{{b}} = 1$.",
                "Find all real $x$ with $|x - {a}| + |x + {b}| \\le {c}$.", "Let $a_{n+1} = {e}a_n - {b}$ with $a_1 = {c}$."],
               ["Find $r^2 + s^2 + t^2$.", "Find the answer as a polynomial in $x$."]),
        "zh": (["设 $p(x) = x^3 - {a}x^2 + {b}x - {c}$ 的三个根为 $r, s, t$。",
                "考虑椭圆 $\\frac{x^2}{{a}} + \\frac{y^2}{{b}} = 1$。", "求满足 $|x - {a}| + |x + {b}| \\le {c}$ 的所有实数 $x$。",
                "数列满足 $a_{n+1} = {e}a_n - {b}$，$a_1 = {c}$。"],
               ["求 $r^2 + s^2 + t^2$。", "把答案写成关于 $x$ 的多项式。"]),
    },
}

# multiple choice: per topic, terms in each language
_CHOICE: dict[str, dict[str, list[str]]] = {
    "biology": {"en": ["photosynthesis", "mitochondria", "DNA replication", "natural selection", "enzymes",
                       "the cell membrane", "meiosis", "ribosomes"],
                "zh": ["光合作用", "线粒体", "DNA复制", "自然选择", "酶", "细胞膜", "减数分裂", "核糖体"]},
    "law": {"en": ["contract formation", "negligence", "due process", "the hearsay rule", "adverse possession",
                   "strict liability", "consideration", "judicial review"],
            "zh": ["合同成立", "过失责任", "正当程序", "传闻证据规则", "取得时效", "严格责任", "对价", "司法审查"]},
    "history": {"en": ["the Industrial Revolution", "the Tang dynasty", "the Treaty of Versailles", "the Silk Road",
                       "the Cold War", "the French Revolution", "the Ming voyages", "the printing press"],
                "zh": ["工业革命", "唐朝", "凡尔赛条约", "丝绸之路", "冷战", "法国大革命", "郑和下西洋", "印刷术"]},
    "physics": {"en": ["momentum", "Ohm's law", "entropy", "projectile motion", "refraction", "angular momentum",
                       "the photoelectric effect", "buoyancy"],
                "zh": ["动量", "欧姆定律", "熵", "抛体运动", "折射", "角动量", "光电效应", "浮力"]},
    "economics": {"en": ["inflation", "comparative advantage", "price elasticity", "monopoly pricing", "opportunity cost",
                         "the multiplier effect", "marginal utility", "exchange rates"],
                  "zh": ["通货膨胀", "比较优势", "价格弹性", "垄断定价", "机会成本", "乘数效应", "边际效用", "汇率"]},
    "medicine": {"en": ["hypertension", "insulin resistance", "antibiotic resistance", "the immune response", "anemia",
                        "vaccination", "beta blockers", "dehydration"],
                 "zh": ["高血压", "胰岛素抵抗", "抗生素耐药", "免疫反应", "贫血", "疫苗接种", "β受体阻滞剂", "脱水"]},
}
_CHOICE_FRAME = {
    "en": (["Which of the following best describes {t}?", "Which statement about {t} is correct?",
            "Which of the following is NOT true of {t}?", "What is the main consequence of {t}?"],
           ["{role} compares {t2} with {t3}.", "{role} notes that {t2} is often confused with {t3}.",
            "In a case study, {t2} appears together with {t3}."],
           ["it increases {t2}", "it depends mainly on {t2}", "it has no effect on {t2}", "it reverses {t2}",
            "it is a special case of {t2}", "it was first described alongside {t2}"],
           ["A student", "A researcher", "A textbook author", "An examiner"]),
    "zh": (["下列哪一项最能描述{t}？", "关于{t}，下列说法正确的是？", "下列关于{t}的说法中，错误的是？", "{t}的主要后果是什么？"],
           ["{role}比较了{t2}和{t3}。", "{role}指出{t2}常与{t3}混淆。", "在一个案例中，{t2}与{t3}同时出现。"],
           ["它会增强{t2}", "它主要取决于{t2}", "它对{t2}没有影响", "它会抵消{t2}", "它是{t2}的一种特例", "它最早与{t2}一同被提出"],
           ["一名学生", "一位研究者", "教材作者", "考官"]),
}

# code: per topic, the function's argument, statements that change it, and what it returns
_CODE: dict[str, tuple[str, list[str], list[str]]] = {
    "lists": ("xs", ["xs.append({a})", "xs = xs[{e}:] + xs[:{e}]", "xs = [x * {e} for x in xs if x % 2 == 0] + xs",
                     "xs = xs[::-1]", "xs.insert({e}, {b})", "xs = [x + {e} for x in xs]", "xs = [x for x in xs if x % {e}]",
                     "xs.extend(xs[:{e}])", "xs = [x // {e} for x in xs]"],
              ["return xs", "return xs", "return xs[-{e}:]", "return sum(xs) % {c}", "return len(xs)"]),
    "strings": ("s", ["s = s.upper()", "s = s[::-1]", "s = s.replace('{ch}', '')", "s = '-'.join(s.split('{ch}'))",
                      "s = s[{e}:] + s[:{e}]", "s = s.strip('{ch}').title()", "s = s + s[:{e}].lower()",
                      "s = s.swapcase()", "s = s.center(len(s) + {e}, '*')"],
                ["return s", "return s", "return s[{e}:]", "return s.count('{ch}')", "return s.lower().startswith('{ch}')"]),
    "dicts": ("d", ["d['{w}'] = d.get('{w}', 0) + {e}", "d.setdefault('{w2}', {c})", "d = {k: v % {e} for k, v in d.items()}",
                    "d.pop('{w2}', None)", "d = dict(sorted(d.items()))", "d = {k: v * {e} for k, v in d.items() if v}",
                    "d.update({'{w}': len(d)})"],
              ["return d", "return d", "return sorted(d)", "return sum(d.values())", "return len(d)"]),
    "recursion": ("n", ["n = n // 2 if n > {e} + 6 else n", "n -= n % {e}", "n = min(n, {e} + 9)", "n = max(n - {e}, 0)"],
                  ["return f(n - 1) + f(n - {e})", "return (f(n - 1) * {e} + n) % {c}", "return f(n - {e}) + n",
                   "return max(f(n - 1), f(n - {e}) + {e})"]),
    "bitwise": ("x", ["x ^= x >> {e}", "x &= {b}", "x = (x << {e}) | {e}", "x &= x - 1", "x |= 1 << {e}",
                      "x = bin(x).count('1') + x", "x = ~x & ((1 << {e}) - 1)"],
                ["return x", "return x", "return x, x & {c}", "return bin(x)", "return x % {c}"]),
    "sorting": ("xs", ["xs.sort(key=lambda v: (v % {e}, -v))", "xs = sorted(set(xs) | {{a}})", "xs = sorted(xs, key=str)",
                       "xs = xs[:{e}] + sorted(xs[{e}:], reverse=True)", "xs.sort(reverse=True)",
                       "xs = sorted(xs, key=lambda v: abs(v - {a}))"],
                ["return xs", "return xs", "return xs == sorted(xs)", "return xs.index(max(xs)) if xs else -1", "return xs[{e}:]"]),
}
_CODE_FRAME = {"en": ["What does {call} return?", "What is the value of {call}?", "Predict the exact output of {call}."],
               "zh": ["{call} 的返回值是什么？", "请写出 {call} 的结果。", "预测 {call} 的准确返回值。"]}
_CODE_COMMENT = {
    "en": {"lists": "# list helper", "strings": "# string cleanup", "dicts": "# counts by key", "recursion": "# recursive step",
           "bitwise": "# bit tricks", "sorting": "# custom order"},
    "zh": {"lists": "# 列表处理", "strings": "# 字符串清洗", "dicts": "# 按键计数", "recursion": "# 递归", "bitwise": "# 位运算技巧",
           "sorting": "# 自定义排序"},
}
_WORDS = ["apple", "banana", "kiwi", "level", "python", "router", "cache", "token", "model", "queue"]


def _pick(rng: Rng, items: Sequence[T]) -> T:
    return items[int(rng.integers(0, len(items)))]


def _fill(template: str, rng: Rng, level: float, lang: str, extra: dict[str, str] | None = None) -> str:
    """Fills the ``{slot}`` placeholders; numbers grow with the visible difficulty. A slot that
    occurs twice gets the same value."""
    values = dict(extra or {})
    hi = 10 ** float(np.clip(1.1 + 0.55 * level + rng.normal(0, 0.3), 0.8, 4.0))

    def value(m: re.Match[str]) -> str:
        k = m.group(1)
        if k not in values:
            if k in "abcd":
                values[k] = str(max(2, round(hi * rng.uniform(0.15, 1.0))))
            else:
                values[k] = {"name": lambda: _pick(rng, _NAMES[lang]), "e": lambda: str(int(rng.integers(2, 6))),
                             "p": lambda: str(int(rng.integers(1, 19)) * 5), "w": lambda: _pick(rng, _WORDS),
                             "w2": lambda: _pick(rng, _WORDS), "ch": lambda: _pick(rng, "aeiolnrt")}[k]()
        return values[k]

    return _SLOT.sub(value, template)


def _facts(level: float, rng: Rng, base: float = 2.0) -> int:
    """How many facts (quantities, clauses, statements) a prompt of this visible difficulty has."""
    return int(np.clip(round(base + 1.3 * level + rng.normal(0, 0.7)), 1, 8))


def _noise(rng: Rng, lang: str) -> list[str]:
    fillers = _FILLER[lang]
    out = [fillers[i] for i in rng.permutation(len(fillers))[: int(rng.integers(0, 3))]]
    if rng.random() < 0.4:
        out.append(_pick(rng, _NOISE_WORDS[lang]) + ("，" if lang == "zh" else ","))
    return out


def _join(parts: list[str], lang: str) -> str:
    return ("" if lang == "zh" else " ").join(p for p in parts if p)


def _table_prompt(table: dict[str, dict[str, tuple[list[str], list[str]]]], base: float) -> PromptFn:
    """Word and competition problems: facts from the topic (one maybe from another), noise, a question."""

    def make(topic: str, lang: str, level: float, rng: Rng) -> tuple[str, str | None]:
        facts, questions = table[topic][lang]
        n = _facts(level, rng, base)
        parts = [_fill(_pick(rng, facts), rng, level, lang) for _ in range(n)]
        if rng.random() < 0.3:  # a sentence from another topic blurs the topic signal
            other = _pick(rng, [t for t in table if t != topic])
            parts.insert(int(rng.integers(0, len(parts) + 1)), _fill(_pick(rng, table[other][lang][0]), rng, level, lang))
        noise = _noise(rng, lang)
        for s in noise:
            parts.insert(int(rng.integers(0, len(parts) + 1)), s)
        parts.append(_fill(_pick(rng, questions), rng, level, lang))
        return _join(parts, lang), None

    return make


def _choice_prompt(topic: str, lang: str, level: float, rng: Rng) -> tuple[str, str | None]:
    stems, contexts, options, roles = _CHOICE_FRAME[lang]
    terms = _CHOICE[topic][lang]
    if rng.random() < 0.3:  # borrowed terms blur the topic signal
        terms = terms[:5] + _CHOICE[_pick(rng, [t for t in _CHOICE if t != topic])][lang][:3]

    def pick(k: int) -> list[str]:
        return [terms[i] for i in rng.permutation(len(terms))[:k]]

    parts = []
    for _ in range(_facts(level, rng, 1.0) - 1):
        t2, t3 = pick(2)
        parts.append(_fill(_pick(rng, contexts), rng, level, lang, {"t2": t2, "t3": t3, "role": _pick(rng, roles)}))
    parts += _noise(rng, lang)
    parts.append(_fill(_pick(rng, stems), rng, level, lang, {"t": pick(1)[0]}))
    choices: list[str] = []
    while len(choices) < 4:  # four different options, longer on harder questions
        text = _fill(_pick(rng, options), rng, level, lang, {"t2": pick(1)[0]})
        if level > 0.6:
            text += ("，并且" if lang == "zh" else ", and ") + _fill(_pick(rng, options), rng, level, lang, {"t2": pick(1)[0]})
        if text not in choices:
            choices.append(text)
    return "\n".join([_join(parts, lang), *(f"{x}. {c}" for x, c in zip("ABCD", choices, strict=True))]), None


def _code_input(topic: str, level: float, rng: Rng) -> Any:
    size = int(np.clip(round(3 + 1.2 * level + rng.normal(0, 0.8)), 2, 9))
    hi = int(10 ** float(np.clip(1.3 + 0.4 * level, 1.0, 3.0)))
    if topic in ("lists", "sorting"):
        return [int(v) for v in rng.integers(0, hi, size=size)]
    if topic == "strings":
        return "-".join(_pick(rng, _WORDS) for _ in range(max(1, size // 3)))
    if topic == "dicts":
        return {_pick(rng, _WORDS): int(rng.integers(0, hi)) for _ in range(max(2, size // 2))}
    if topic == "recursion":
        return int(rng.integers(3, 9 + 2 * size))
    return int(rng.integers(1, hi * 10))


def _code_prompt(topic: str, lang: str, level: float, rng: Rng) -> tuple[str, str]:
    """A small function, a call and (run here) its value, CRUXEval-style."""
    arg, ops, returns = _CODE[topic]
    n = _facts(level, rng, 2.0) - (topic == "recursion")
    body = [_fill(_pick(rng, ops), rng, level, lang) for _ in range(n)]
    if topic == "recursion":
        body += _fill("if n < {e}:\n    return n\n" + _pick(rng, returns), rng, level, lang).split("\n")
    else:
        body.append(_fill(_pick(rng, returns), rng, level, lang))
    if rng.random() < 0.5:  # a comment, now and then one that belongs to another topic
        about = topic if rng.random() < 0.7 else _pick(rng, [t for t in _CODE if t != topic])
        body.insert(int(rng.integers(0, len(body))), _CODE_COMMENT[lang][about])
    code = f"def f({arg}):\n" + "\n".join("    " + line for line in body)
    call = f"f({_code_input(topic, level, rng)!r})"
    space: dict[str, Any] = {}
    exec(code, space)  # our own generated function: small, total and terminating
    value = eval(call, space)
    head = _join([_fill(_pick(rng, _CODE_FRAME[lang]), rng, level, lang, {"call": call}), *_noise(rng, lang)], lang)
    return f"{head}\n```python\n{code}\n```", repr(value)


# --- answers -----------------------------------------------------------------------------------

WrongFn = Callable[[Rng], str]


def _number_answer(topic: str, level: float, rng: Rng, gold: str | None = None) -> tuple[str, WrongFn]:
    g = max(2, round(10 ** float(np.clip(1.0 + 0.6 * level + rng.normal(0, 0.5), 0.4, 5.0))))

    def wrong(r: Rng) -> str:
        op = int(r.integers(0, 7))
        v = [g + int(r.integers(1, 4)), g - int(r.integers(1, 4)), g * 2, g // 2, g * 10,
             round(g * r.uniform(0.5, 1.6)), g + _pick(r, [-10, 10, 100])][op]
        return str(v)

    return str(g), wrong


def _formula_parts(rng: Rng) -> tuple[int, list[int]]:
    return int(rng.integers(0, 8)), [int(v) for v in rng.integers(1, 13, size=3)]


def _render_formula(kind: int, v: list[int]) -> str:
    a, b, c = v
    b2 = b + 1 if b == a else b
    return [
        str(a * b + c), f"\\frac{{{a}}}{{{a + b2}}}", f"{a}\\sqrt{{{b + 1}}}", f"\\frac{{{a}\\sqrt{{{b + 1}}}}}{{{c + 1}}}",
        f"{a}\\pi", f"x^2+{a}x+{b}", f"({a}, {b})", f"{a}+{b}\\sqrt{{{c + 1}}}",
    ][kind]


def _formula_answer(topic: str, level: float, rng: Rng, gold: str | None = None) -> tuple[str, WrongFn]:
    kind, v = _formula_parts(rng)
    gold = _render_formula(kind, v)

    def wrong(r: Rng) -> str:
        w = list(v)
        i = int(r.integers(0, 3))
        w[i] = max(1, w[i] + _pick(r, [-2, -1, 1, 2, 3]))
        k = kind if r.random() < 0.8 else int(r.integers(0, 8))
        return _render_formula(k, w)

    return gold, wrong


def _letter_answer(topic: str, level: float, rng: Rng, gold: str | None = None) -> tuple[str, WrongFn]:
    gold = _pick(rng, "ABCD")
    return gold, lambda r: _pick(r, [x for x in "ABCD" if x != gold])


def _perturb(value: Any, rng: Rng) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        step = int(rng.integers(1, 10)) * _pick(rng, [-1, 1])
        return value + step if rng.random() < 0.7 else _pick(rng, [value * 2 + 1, value // 2 - 1, -value - 1])
    if isinstance(value, str):
        if not value:
            return _pick(rng, "aes*-")
        i = int(rng.integers(0, len(value)))
        return value[:i] + value[i + 1 :] if rng.random() < 0.5 else value[::-1] + _pick(rng, "aesx")
    if isinstance(value, tuple):
        return tuple(_perturb(list(value), rng))
    if isinstance(value, list):
        out = list(value)
        how = int(rng.integers(0, 4))
        if out and how < 2:
            i = int(rng.integers(0, len(out)))
            out[i] = _perturb(out[i], rng)
        elif len(out) > 1 and how == 2:
            del out[int(rng.integers(0, len(out)))]
        else:
            out = [*out[::-1], int(rng.integers(0, 40))]
        return out
    if isinstance(value, dict):
        if not value:
            return {_pick(rng, _WORDS): int(rng.integers(0, 9))}
        k = _pick(rng, list(value))
        return {**value, k: _perturb(value[k], rng)}
    return _pick(rng, [0, -1, "''", "[]"])


def _code_answer(topic: str, level: float, rng: Rng, gold: str | None = None) -> tuple[str, WrongFn]:
    value = ast.literal_eval(gold or "None")
    return repr(value), lambda r: repr(_perturb(value, r))


@dataclass(frozen=True)
class Domain:
    topics: tuple[str, ...]
    offsets: tuple[float, ...]  # each topic's mean visible difficulty
    prompt: PromptFn
    answer: Callable[[str, float, Rng, str | None], tuple[str, WrongFn]]  # gold (or None) -> gold, wrong answers
    pool: int  # plausible wrong values per prompt
    alpha: float  # Dirichlet concentration of their weights (small: one dominant wrong value)
    fresh: float  # the chance a wrong answer is a new value rather than one from the pool


_DOMAINS = {
    "word": Domain(tuple(_WORD), (-0.3, 0.0, -0.1, -0.2, 0.2, 0.3), _table_prompt(_WORD, 1.5), _number_answer,
                   4, 0.5, 0.25),
    "competition": Domain(tuple(_COMPETITION), (0.0, 0.2, 0.1, -0.1, 0.3, 0.2), _table_prompt(_COMPETITION, 1.0),
                          _formula_answer, 6, 0.7, 0.6),
    "choice": Domain(tuple(_CHOICE), (0.0, 0.2, -0.1, 0.1, 0.0, 0.2), _choice_prompt, _letter_answer, 3, 1.0, 0.0),
    "code": Domain(tuple(_CODE), (-0.2, 0.0, 0.0, 0.3, 0.2, -0.1), _code_prompt, _code_answer, 5, 0.8, 0.7),
}


# --- drawing a ladder --------------------------------------------------------------------------


@dataclass
class Ladder:
    """A drawn file (``lines``: header, then rows) with the latent variables behind it."""

    shape: Shape
    lines: list[dict[str, Any]]
    topics: list[str]
    langs: list[str]
    visible: np.ndarray  # the part of each row's difficulty the text shows
    difficulty: np.ndarray  # visible + hidden
    ability: dict[str, float]  # each model's solved ability (difficulty units)


def normalise(answer: str | None) -> str | None:
    """The obvious normalisation under which a right answer equals the gold one: whitespace, a
    trailing full stop, a leading dollar sign and thousands separators."""
    if answer is None:
        return None
    s = answer.strip().rstrip(".").removeprefix("$")
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)


def _prompts(dom: Domain, topics: np.ndarray, langs: list[str], visible: np.ndarray,
             rng: Rng) -> list[tuple[str, str | None]]:
    """Each row's prompt (all different: a replayed model answers by prompt) and, when the text
    determines it, its gold answer. Over-long code values are drawn again."""
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for t, lang, v in zip(topics, langs, visible, strict=True):
        for _ in range(50):
            p, gold = dom.prompt(dom.topics[t], lang, float(v), rng)
            if p not in seen and len(gold or "") <= 60:
                break
        else:
            p += f" (#{len(out)})"
        seen.add(p)
        out.append((p, gold))
    return out


def _decide(sh: Shape, topics: np.ndarray, zh: np.ndarray, d: np.ndarray, rng: Rng) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Who answers (not null) and who is right: R x M booleans each, and each model's ability."""
    dom = _DOMAINS[sh.domain]
    R, M = len(d), len(sh.models)
    bonus = rng.normal(0, sh.spread, size=(M, len(dom.topics)))
    for i, m in enumerate(sh.models):
        for topic, b in m.strengths:
            bonus[i, dom.topics.index(topic)] += b
    base = bonus[:, topics].T + np.outer(zh, [m.zh for m in sh.models]) - d[:, None]  # R x M
    hard = 2 / (1 + np.exp(-(d - d.mean())))  # 1 on an average row, up to 2 on hard ones
    answered = rng.random((R, M)) >= np.array([m.null for m in sh.models]) * hard[:, None]
    score = sh.slope * base + rng.logistic(size=(R, M))
    correct = np.zeros((R, M), dtype=bool)
    ability: dict[str, float] = {}
    for i, m in enumerate(sh.models):
        k = min(round(m.accuracy * R), int(answered[:, i].sum()))
        ranked = np.argsort(-np.where(answered[:, i], score[:, i], -np.inf), kind="stable")
        correct[ranked[:k], i] = True
        # P(right) = sigmoid(slope * (ability + bonus - d)); right when the noisy score clears -slope * ability
        cut = score[ranked[k - 1], i] if k else float(score[:, i].max())
        ability[m.name] = round(-float(cut) / sh.slope, 3)
    return answered, correct, ability


def _wrong_answers(dom: Domain, wrong: WrongFn, gold: str, rng: Rng) -> Callable[[], str]:
    """Draws wrong answers for one prompt: from a weighted pool of plausible ones, or fresh."""
    pool: list[str] = []
    for _ in range(dom.pool * 4):
        w = wrong(rng)
        if normalise(w) != gold and w not in pool:
            pool.append(w)
        if len(pool) == dom.pool:
            break
    weights = rng.dirichlet([dom.alpha] * len(pool)) if pool else np.zeros(0)

    def draw() -> str:
        if not pool or rng.random() < dom.fresh:
            for _ in range(10):
                w = wrong(rng)
                if normalise(w) != gold:
                    return w
            return pool[0] if pool else f"not {gold}"
        return pool[int(rng.choice(len(pool), p=weights))]

    return draw


def _dress(answer: str, kind_number: bool, rng: Rng) -> str:
    """How a model writes a number: sometimes with thousands separators or a dollar sign."""
    if not kind_number or rng.random() > 0.15:
        return answer
    if len(answer) > 4 and answer.isdigit():
        return f"{int(answer):,}"
    return "$" + answer


def _row_outcomes(sh: Shape, gold: str, draw_wrong: Callable[[], str], d: float, answered: np.ndarray,
                  correct: np.ndarray, rng: Rng) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i, m in enumerate(sh.models):
        tokens = m.tokens * np.exp(0.3 * d + rng.normal(0, 0.35))
        if not answered[i]:
            answer = None
            tokens *= rng.uniform(3, 9) if rng.random() < 0.6 else 1.0  # rambled on, or cut off
        elif correct[i]:
            answer = _dress(gold, sh.domain == "word", rng)
        else:
            answer = _dress(draw_wrong(), sh.domain == "word", rng)
            tokens *= 1.2
        out[m.name] = {"correct": bool(correct[i]), "answer": answer, "output_tokens": max(3, round(float(tokens)))}
    return out


def generate(shape_name: str, rows: int = 800, seed: int = 0) -> Ladder:
    """Draws a ladder of the named shape, with its latent variables."""
    sh = shape(shape_name)
    dom = _DOMAINS[sh.domain]
    rng = np.random.default_rng([seed, zlib.crc32(sh.name.encode())])
    topics = rng.integers(0, len(dom.topics), size=rows)
    zh = rng.random(rows) < 1 / 3
    langs = ["zh" if z else "en" for z in zh]
    visible = np.array(dom.offsets)[topics] + rng.normal(0, 0.75, rows)
    difficulty = visible + rng.normal(0, 0.7, rows)
    prompts = _prompts(dom, topics, langs, visible, rng)
    answered, correct, ability = _decide(sh, topics, zh.astype(float), difficulty, rng)
    header = {"header": True, "task": sh.task, "source": SOURCE,
              "models": {m.name: {"params_b": m.params_b} for m in sh.models}}
    lines: list[dict[str, Any]] = [header]
    for r in range(rows):
        prompt, given = prompts[r]
        gold, wrong = dom.answer(dom.topics[topics[r]], float(visible[r]), rng, given)
        draw = _wrong_answers(dom, wrong, gold, rng)
        outcomes = _row_outcomes(sh, gold, draw, float(difficulty[r]), answered[r], correct[r], rng)
        lines.append({"id": f"{sh.name}-{r:05d}", "task": sh.task, "prompt": prompt, "gold": gold, "outcomes": outcomes})
    return Ladder(sh, lines, [dom.topics[t] for t in topics], langs, visible, difficulty, ability)


def make_ladder(shape: str, rows: int = 800, seed: int = 0) -> list[dict[str, Any]]:
    """The file's lines as dicts: the header first, then one per prompt."""
    return generate(shape, rows, seed).lines


def write_ladder(path: str | Path, shape: str, rows: int = 800, seed: int = 0) -> Path:
    """Writes the ladder as JSONL (UTF-8, Chinese as is) and returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in make_ladder(shape, rows, seed)),
                 encoding="utf-8")
    return p


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write one synthetic routing outcome file per shape.")
    ap.add_argument("outdir")
    ap.add_argument("--rows", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shape", action="append", choices=SHAPES, help="only these shapes (default: all)")
    args = ap.parse_args(argv)
    for name in args.shape or SHAPES:
        print(write_ladder(Path(args.outdir) / f"{name}.jsonl", name, args.rows, args.seed))


if __name__ == "__main__":
    main()
