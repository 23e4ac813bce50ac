"""The templates the easy suite is rendered from: each task's wording, its right and wrong
solution, the parameters it is filled with and the test inputs it draws.

Kept apart from ``easy_suite``, which renders, numbers and writes the problems: this is the
data, so adding or changing a task means editing this file alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    """One kind of task; ``{...}`` fields in every string are filled from one variant's parameters."""

    name: str
    params: str
    returns: str
    doc: str
    body: str
    wrong: str
    variants: tuple[dict, ...]
    inputs: object  # (rng, variant) -> list of argument tuples


def _words(rng, pool, n=3):
    return [rng.choice(pool) for _ in range(n)]


WORDS = ["apple", "Banana", "cherry", "data", "Engine", "forest", "garden", "hello", "Index", "jazz", "kiwi",
         "lemon", "Matrix", "night", "orange", "python", "queue", "River", "sunset", "table", "Umbrella", "value"]
SENTENCES = ["the quick brown fox", "Hello World", "  leading and trailing  ", "a", "", "Python is fun",
             "data  science   rocks", "Never Odd Or Even", "racecar", "Was it a car or a cat I saw", "level up",
             "one,two,three", "x-y-z", "AEIOU aeiou", "rhythm", "Mississippi"]
NUMBER_LISTS = [[], [0], [5], [3, -1, 4, 1, 5], [10, 20, 30], [-7, -2, -9], [2, 2, 2, 3], [1, 2, 3, 4, 5, 6],
                [100, 0, 55, 60, 61], [9, 8, 7, 6, 5, 4, 3], [42, 17, 17, 8]]


def _pairs(rng, _variant):
    values = [0, 1, -3, 7, 12, 250, -40, 99]
    return [(0, 0), (2, 3)] + [(rng.choice(values), rng.choice(values)) for _ in range(3)]


def _numbers(rng, _variant):
    return [(0,), (1,), (7,)] + [(rng.randint(-50, 500),) for _ in range(3)]


def _naturals(rng, _variant):
    return [(0,), (1,), (5,)] + [(rng.randint(2, 30),) for _ in range(3)]


def _texts(rng, _variant):
    fixed = [("",), ("a",), ("  Top spot ",), ("Open Air",)]  # edge cases: spaces, case, palindromes
    return fixed + [(rng.choice(SENTENCES),) for _ in range(2)] + [(" ".join(_words(rng, WORDS)),)]


def _lists(rng, _variant):
    picks = rng.sample(NUMBER_LISTS[3:], 3)
    return [([],), ([5],), ([0, 3, 3, -2],)] + [(list(p),) for p in picks]  # a zero, a repeat, a negative


def _nonempty_lists(rng, variant):
    return [case for case in _lists(rng, variant) if case[0]]


def _filenames(rng, variant):
    ext = variant["ext"]
    stems = ["report", "main", "notes.final", "data_2024", "README", "archive"]
    return [(f"{rng.choice(stems)}.{ext}",), (f"{rng.choice(stems)}.{ext}.bak",), (f"{ext}",),
            (f"{rng.choice(stems)}.{ext.upper()}x",), (f"{rng.choice(stems)}.{ext}",)]


def _word_lists(rng, _variant):
    return [([],), (["solo"],)] + [(_words(rng, WORDS, rng.randint(2, 4)),) for _ in range(3)]


def _records(rng, variant):
    key = variant["key"]
    return [({},), ({key: rng.randint(1, 90)},), ({"other": 3},), ({key: 0, "other": 1},)]


def _threshold_lists(rng, variant):
    t = variant["k"]
    return [([],), ([t],), ([t - 1, t, t + 1],), ([rng.randint(0, 100) for _ in range(6)],),
            ([rng.randint(0, 100) for _ in range(4)],)]


def _text_and_count(rng, _variant):
    return [("ab", 0), ("ab", 1), ("x", 3)] + [(rng.choice(WORDS), rng.randint(2, 4)) for _ in range(2)]


def _part_whole(rng, _variant):
    return [(1, 4), (0, 5), (3, 3)] + [(rng.randint(0, 50), rng.randint(51, 200)) for _ in range(2)]


def _divisions(rng, _variant):
    return [(6, 3), (5, 0), (0, 7)] + [(rng.randint(-20, 20), rng.choice([1, 2, 4, 8, 0])) for _ in range(2)]


def _letters(rng, variant):
    return [("",), (variant["ch"] * 3,)] + [(rng.choice(SENTENCES) + variant["ch"],) for _ in range(3)]


CONVERSIONS = tuple(dict(src=s, dst=d, k=k) for s, d, k in [
    ("minutes", "seconds", 60), ("hours", "minutes", 60), ("days", "hours", 24), ("weeks", "days", 7),
    ("kilometers", "meters", 1000), ("feet", "inches", 12), ("yards", "feet", 3), ("dozens", "items", 12),
    ("kilobytes", "bytes", 1024), ("meters", "centimeters", 100), ("gallons", "quarts", 4), ("years", "months", 12)])
PAIR_NAMES = tuple(dict(fn=f, a=a, b=b, what=w) for f, a, b, w in [
    ("add", "a", "b", "the two numbers"), ("total_price", "price", "tax", "the price and the tax"),
    ("order_total", "subtotal", "shipping", "the subtotal and the shipping cost"),
    ("final_score", "score", "bonus", "the score and the bonus"), ("new_balance", "balance", "deposit", "the balance and the deposit"),
    ("total_hours", "regular", "overtime", "the regular and overtime hours"), ("combined_length", "first", "second", "both lengths"),
    ("sum_two", "x", "y", "x and y"), ("next_position", "position", "step", "the position and the step")])
PRODUCT_NAMES = tuple(dict(fn=f, a=a, b=b, what=w) for f, a, b, w in [
    ("rectangle_area", "width", "height", "a rectangle with the given width and height"),
    ("line_total", "unit_price", "quantity", "a line of an invoice: unit price times quantity"),
    ("multiply", "a", "b", "a times b"), ("total_pay", "hourly_rate", "hours", "the pay for the hours worked"),
    ("distance_travelled", "speed", "time", "the distance covered at a constant speed"),
    ("seats_in_hall", "rows", "seats_per_row", "the number of seats in a hall")])
NOUNS = tuple(dict(noun=n) for n in ["title", "message", "username", "password", "filename", "comment", "label",
                                     "headline", "address", "query", "tweet", "caption"])
LIST_NOUNS = tuple(dict(noun=n) for n in ["scores", "prices", "temperatures", "readings", "votes", "steps",
                                          "sales", "distances", "points", "latencies"])
DIVISORS = tuple(dict(k=k) for k in [2, 3, 4, 5, 6, 7, 9, 10, 11, 12])
EXTENSIONS = tuple(dict(ext=e) for e in ["py", "txt", "csv", "json", "md", "html", "yaml", "log", "png", "toml"])
SEPARATORS = tuple(dict(fn=f, sep=s, how=h) for f, s, h in [
    ("join_with_commas", ", ", "a comma and a space"), ("join_with_dashes", "-", "dashes"),
    ("join_with_spaces", " ", "single spaces"), ("join_path_parts", "/", "slashes"), ("join_snake_case", "_", "underscores"),
    ("join_with_pipes", " | ", "a pipe with spaces around it"), ("join_lines", "\n", "newlines"), ("join_with_dots", ".", "dots")])
CHARACTERS = tuple(dict(fn=f, ch=c, what=w) for f, c, w in [
    ("count_spaces", " ", "spaces"), ("count_commas", ",", "commas"), ("count_dashes", "-", "dashes"),
    ("count_letter_a", "a", "lowercase letters 'a'"), ("count_exclamations", "!", "exclamation marks"),
    ("count_periods", ".", "periods"), ("count_letter_s", "s", "lowercase letters 's'"), ("count_question_marks", "?", "question marks")])
REMOVALS = tuple(dict(fn=f.replace("count", "remove"), ch=c, what=w) for f, c, w in
                 (tuple(v.values()) for v in CHARACTERS))
THRESHOLDS = tuple(dict(noun=n, k=k) for n, k in [("passing_scores", 50), ("high_scores", 90), ("hot_days", 30),
                                                  ("adults", 18), ("large_orders", 100), ("fast_laps", 60),
                                                  ("heavy_packages", 20), ("seniors", 65), ("big_tips", 15)])
KEYS = tuple(dict(key=k, default=d) for k, d in [("age", 0), ("quantity", 1), ("retries", 3), ("port", 8080),
                                                 ("timeout", 30), ("priority", 5), ("version", 1), ("limit", 100)])
CLAMPS = tuple(dict(noun=n, lo=lo, hi=hi) for n, lo, hi in [("volume", 0, 100), ("percentage", 0, 100),
                                                            ("brightness", 0, 255), ("rating", 1, 5), ("month", 1, 12),
                                                            ("hour", 0, 23), ("level", 1, 10), ("speed", 0, 120)])
ZFILLS = tuple(dict(noun=n, k=k) for n, k in [("invoice", 6), ("order", 8), ("ticket", 5), ("employee", 4),
                                              ("room", 3), ("account", 10), ("batch", 7)])
PREFIXES = tuple(dict(k=k) for k in [1, 2, 3, 4, 5, 8])

TEMPLATES = (
    Template("{noun}_length", "{noun}: str", "int", "Return the number of characters in the {noun}.",
             "return len({noun})", "return len({noun}) - 1", NOUNS, _texts),
    Template("{fn}", "{a}: int, {b}: int", "int", "Return the sum of {what}.",
             "return {a} + {b}", "return {a} - {b}", PAIR_NAMES, _pairs),
    Template("{fn}", "{a}: int, {b}: int", "int", "Return the product for {what}.",
             "return {a} * {b}", "return {a} + {b}", PRODUCT_NAMES, _pairs),
    Template("{src}_to_{dst}", "{src}: int", "int", "Convert a number of {src} to {dst} ({k} {dst} each).",
             "return {src} * {k}", "return {src} + {k}", CONVERSIONS, _numbers),
    Template("is_divisible_by_{k}", "number: int", "bool", "Return True if number is divisible by {k}, else False.",
             "return number % {k} == 0", "return number % {k} == 1", DIVISORS, _numbers),
    Template("larger_{noun}", "first: int, second: int", "int", "Return the larger of two {noun}.",
             "return first if first > second else second", "return first if first < second else second",
             LIST_NOUNS, _pairs),
    Template("{noun}_difference", "a: int, b: int", "int", "Return how far apart two {noun} are (never negative).",
             "return abs(a - b)", "return a - b", LIST_NOUNS, _pairs),
    Template("shout_{noun}", "{noun}: str", "str", "Return the {noun} in upper case, with surrounding spaces removed.",
             "return {noun}.strip().upper()", "return {noun}.upper()", NOUNS, _texts),
    Template("reverse_{noun}", "{noun}: str", "str", "Return the {noun} spelled backwards.",
             "return {noun}[::-1]", "return {noun}[::-1][:-1]", NOUNS, _texts),
    Template("first_{k}_characters", "text: str", "str",
             "Return the first {k} characters of text (all of it if it is shorter).",
             "return text[:{k}]", "return text[:{k} - 1]", PREFIXES, _texts),
    Template("is_{ext}_file", "filename: str", "bool", "Return True if the file name ends with the .{ext} extension.",
             "return filename.endswith('.{ext}')", "return '.{ext}' in filename", EXTENSIONS, _filenames),
    Template("{fn}", "text: str", "int", "Count the {what} in text.",
             "count = 0\nfor char in text:\n    if char == {ch!r}:\n        count += 1\nreturn count",
             "return len(text.split({ch!r}))", CHARACTERS, _letters),
    Template("{fn}", "text: str", "str", "Return text with every one of its {what} removed.",
             "return text.replace({ch!r}, '')", "return text.replace({ch!r}, '', 1)", REMOVALS, _letters),
    Template("total_{noun}", "{noun}: list", "int", "Add up all the {noun} in the list.",
             "total = 0\nfor value in {noun}:\n    total += value\nreturn total",
             "total = 0\nfor value in {noun}[1:]:\n    total += value\nreturn total", LIST_NOUNS, _lists),
    Template("average_{noun}", "{noun}: list", "float",
             "Return the mean of the {noun}, rounded to 2 decimals; 0.0 for an empty list.",
             "if not {noun}:\n    return 0.0\nreturn round(sum({noun}) / len({noun}), 2)",
             "if not {noun}:\n    return 0.0\nreturn round(sum({noun}) / (len({noun}) + 1), 2)", LIST_NOUNS, _lists),
    Template("highest_{noun}", "{noun}: list", "int", "Return the highest of the {noun} (the list is not empty).",
             "best = {noun}[0]\nfor value in {noun}:\n    if value > best:\n        best = value\nreturn best",
             "best = {noun}[0]\nfor value in {noun}:\n    if value < best:\n        best = value\nreturn best",
             LIST_NOUNS, _nonempty_lists),
    Template("count_{noun}", "values: list", "int", "Count the values that are at least {k}.",
             "return sum(1 for value in values if value >= {k})", "return sum(1 for value in values if value > {k})",
             THRESHOLDS, _threshold_lists),
    Template("positive_{noun}", "{noun}: list", "list", "Return the {noun} that are greater than zero, in order.",
             "return [value for value in {noun} if value > 0]", "return [value for value in {noun} if value >= 0]",
             LIST_NOUNS, _lists),
    Template("sum_up_to_{k}_times", "n: int", "int", "Return {k} times the sum of the whole numbers from 1 to n.",
             "total = 0\nfor i in range(1, n + 1):\n    total += i\nreturn {k} * total",
             "total = 0\nfor i in range(1, n):\n    total += i\nreturn {k} * total", DIVISORS, _naturals),
    Template("repeat_{noun}", "{noun}: str, times: int", "str", "Return the {noun} repeated the given number of times.",
             "return {noun} * times", "return {noun} * max(times - 1, 0)", NOUNS, _text_and_count),
    Template("{fn}", "words: list", "str", "Join the words into one string, separated by {how}.",
             "return {sep!r}.join(words)", "return {sep!r}.join(words) + {sep!r}", SEPARATORS, _word_lists),
    Template("count_words_in_{noun}", "{noun}: str", "int", "Return how many words (separated by any whitespace) the {noun} has.",
             "return len({noun}.split())", "return len({noun}.split(' '))", NOUNS, _texts),
    Template("is_palindrome_{noun}", "{noun}: str", "bool",
             "Return True if the {noun} reads the same backwards, ignoring case and spaces.",
             "cleaned = {noun}.replace(' ', '').lower()\nreturn cleaned == cleaned[::-1]",
             "return {noun} == {noun}[::-1]", NOUNS, _texts),
    Template("clamp_{noun}", "value: int", "int", "Limit the {noun} to the range {lo}..{hi} (inclusive).",
             "return max({lo}, min({hi}, value))", "return min({lo}, max({hi}, value))", CLAMPS, _numbers),
    Template("get_{key}", "settings: dict", "int", "Return the '{key}' setting, or {default} when it is missing.",
             "return settings.get('{key}', {default})", "return settings.get('{key}', {default} + 1)", KEYS, _records),
    Template("format_{noun}_number", "number: int", "str",
             "Return the {noun} number as text, padded with zeros to {k} digits.",
             "return str(number).zfill({k})", "return str(number).zfill({k} - 1)", ZFILLS, _naturals),
    Template("slugify_{noun}", "{noun}: str", "str",
             "Turn the {noun} into a URL slug: lower case words joined by dashes.",
             "return '-'.join({noun}.lower().split())", "return '-'.join({noun}.split())", NOUNS, _texts),
    Template("initials_of_{noun}", "{noun}: str", "str", "Return the upper-case first letter of every word of the {noun}.",
             "return ''.join(word[0].upper() for word in {noun}.split())",
             "return ''.join(word[0] for word in {noun}.split())", NOUNS, _texts),
    Template("count_vowels_in_{noun}", "{noun}: str", "int", "Count the vowels (a, e, i, o, u, either case) in the {noun}.",
             "count = 0\nfor char in {noun}.lower():\n    if char in 'aeiou':\n        count += 1\nreturn count",
             "count = 0\nfor char in {noun}:\n    if char in 'aeiou':\n        count += 1\nreturn count", NOUNS, _texts),
    Template("percent_of_{noun}", "part: int, whole: int", "float",
             "Return part as a percentage of whole, rounded to 1 decimal.",
             "return round(100 * part / whole, 1)", "return round(part / whole, 1)", LIST_NOUNS, _part_whole),
    Template("safe_ratio_of_{noun}", "a: int, b: int", "float", "Return a / b, or 0.0 when b is zero.",
             "if b == 0:\n    return 0.0\nreturn a / b", "if b == 0:\n    return 1.0\nreturn a / b", LIST_NOUNS, _divisions),
    Template("digit_sum_times_{k}", "number: int", "int", "Return {k} times the sum of the decimal digits of a non-negative number.",
             "total = 0\nwhile number > 0:\n    total += number % 10\n    number //= 10\nreturn {k} * total",
             "total = 0\nwhile number > 9:\n    total += number % 10\n    number //= 10\nreturn {k} * total",
             DIVISORS, _naturals),
    Template("unique_sorted_{noun}", "{noun}: list", "list", "Return the distinct {noun}, sorted from low to high.",
             "return sorted(set({noun}))", "return sorted({noun})", LIST_NOUNS, _lists),
    Template("last_of_{noun}", "{noun}: list", "int | None", "Return the last of the {noun}, or None for an empty list.",
             "if not {noun}:\n    return None\nreturn {noun}[-1]", "if not {noun}:\n    return None\nreturn {noun}[0]",
             LIST_NOUNS, _lists),
)


# The easiest tier: single-expression bodies, the prompt ending in ``    return `` so that a
# completion is one expression (cut at its newline). Models of about 1M parameters trained on
# a few MB of Python pass these now and then where the easy suite gives zeros (see
# models/cpu-ladder/README.md).
def _digit_texts(rng, _variant):
    return [("0",), ("7",), ("42",)] + [(str(rng.randint(10, 9999)),) for _ in range(3)]


def _flags(_rng, _variant):
    return [(True,), (False,)]


SHORT_NOUNS = NOUNS[:6]
NUMBER_NAMES = tuple(dict(arg=a) for a in ["number", "value", "count", "n", "x", "size"])
EASIEST_TEMPLATES = (
    Template("{noun}_upper", "{noun}: str", "str", "Return the {noun} in upper case.",
             "{noun}.upper()", "{noun}.lower()", SHORT_NOUNS, _texts),
    Template("{noun}_lower", "{noun}: str", "str", "Return the {noun} in lower case.",
             "{noun}.lower()", "{noun}.upper()", SHORT_NOUNS, _texts),
    Template("strip_{noun}", "{noun}: str", "str", "Return the {noun} without surrounding spaces.",
             "{noun}.strip()", "{noun}.lstrip()", SHORT_NOUNS, _texts),
    Template("split_{noun}", "{noun}: str", "list", "Return the words of the {noun}.",
             "{noun}.split()", "{noun}.split(' ')", SHORT_NOUNS, _texts),
    Template("{noun}_length", "{noun}: str", "int", "Return the length of the {noun}.",
             "len({noun})", "len({noun}) + 1", SHORT_NOUNS, _texts),
    Template("is_empty_{noun}", "{noun}: str", "bool", "Return True if the {noun} is empty.",
             "not {noun}", "bool({noun})", SHORT_NOUNS, _texts),
    Template("same_{noun}", "{noun}: str", "str", "Return the {noun} unchanged.",
             "{noun}", "{noun}[1:]", SHORT_NOUNS, _texts),
    Template("count_{noun}", "{noun}: list", "int", "Return the number of {noun}.",
             "len({noun})", "len({noun}) - 1", LIST_NOUNS, _lists),
    Template("sum_of_{noun}", "{noun}: list", "int", "Return the sum of the {noun}.",
             "sum({noun})", "len({noun})", LIST_NOUNS, _lists),
    Template("first_of_{noun}", "{noun}: list", "int", "Return the first of the {noun}.",
             "{noun}[0]", "{noun}[-1]", LIST_NOUNS, _nonempty_lists),
    Template("last_of_{noun}", "{noun}: list", "int", "Return the last of the {noun}.",
             "{noun}[-1]", "{noun}[0]", LIST_NOUNS, _nonempty_lists),
    Template("max_of_{noun}", "{noun}: list", "int", "Return the largest of the {noun}.",
             "max({noun})", "min({noun})", LIST_NOUNS, _nonempty_lists),
    Template("min_of_{noun}", "{noun}: list", "int", "Return the smallest of the {noun}.",
             "min({noun})", "max({noun})", LIST_NOUNS, _nonempty_lists),
    Template("sorted_{noun}", "{noun}: list", "list", "Return the {noun} sorted.",
             "sorted({noun})", "list({noun})", LIST_NOUNS, _lists),
    Template("double_{arg}", "{arg}: int", "int", "Return {arg} times 2.",
             "{arg} * 2", "{arg} + 2", NUMBER_NAMES, _numbers),
    Template("square_{arg}", "{arg}: int", "int", "Return the square of {arg}.",
             "{arg} * {arg}", "{arg} * 2", NUMBER_NAMES, _numbers),
    Template("is_positive_{arg}", "{arg}: int", "bool", "Return True if {arg} is greater than 0.",
             "{arg} > 0", "{arg} >= 0", NUMBER_NAMES, _numbers),
    Template("is_even_{arg}", "{arg}: int", "bool", "Return True if {arg} is even.",
             "{arg} % 2 == 0", "{arg} % 2 == 1", NUMBER_NAMES, _numbers),
    Template("{arg}_to_str", "{arg}: int", "str", "Return {arg} as a string.",
             "str({arg})", "str({arg} + 1)", NUMBER_NAMES, _numbers),
    Template("parse_{noun}", "{noun}: str", "int", "Return the {noun} as an integer.",
             "int({noun})", "len({noun})", SHORT_NOUNS, _digit_texts),
    Template("{fn}", "{a}: int, {b}: int", "int", "Return the sum of {what}.",
             "{a} + {b}", "{a} - {b}", PAIR_NAMES, _pairs),
    Template("negate_{arg}", "flag: bool", "bool", "Return the opposite of the flag.",
             "not flag", "flag", NUMBER_NAMES[:3], _flags),
)
