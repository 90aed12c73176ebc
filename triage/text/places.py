"""Places named in a petition: roads, communities, buildings, bridges, markets, shops.

Three sources, merged: (1) jieba's part-of-speech tags (``ns`` place, ``nt`` organisation; the
dictionary's tags looked up over the plain cut, as ``posseg`` does for dictionary words, at a third
of its cost) and an address pattern set — up to four name words glued in front of a word ending in
one of :data:`SUFFIXES` (路/街/巷/小区/社区/村/大厦/广场/桥/市场…: 丽 + 发 + 新城 + 小区); (2) the
case's address fields; (3) a gazetteer (the grid registry's grid, community and street names and
a profile's list), matched as substrings.

Places are normalised (the anonymised ``A市``/``A3区`` prefixes of the TipDM data and leading
administrative levels dropped) and split into *fine* places (a road, an estate, a building —
they identify a matter) and *areas* (districts, towns — they only narrow it down).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from triage.text.tokenizer import cut_words, get_tokenizer

# Longest first inside the alternation, so 小区 wins over 区 and 大道 over 道.
FINE_SUFFIXES = [
    "小区",
    "社区",
    "新村",
    "花园",
    "花苑",
    "家园",
    "公寓",
    "山庄",
    "大厦",
    "大楼",
    "广场",
    "市场",
    "商场",
    "超市",
    "中心",
    "公园",
    "学校",
    "小学",
    "中学",
    "幼儿园",
    "大学",
    "学院",
    "医院",
    "卫生院",
    "车站",
    "地铁站",
    "公交站",
    "码头",
    "大桥",
    "大道",
    "高速",
    "工业园",
    "产业园",
    "园区",
    "酒店",
    "宾馆",
    "银行",
    "公司",
    "工厂",
    "厂",
    "楼盘",
    "城",
    "苑",
    "庭",
    "湾",
    "路",
    "街",
    "巷",
    "弄",
    "桥",
    "号",
    "栋",
    "村",
    "组",
    "园",
    "坊",
    "港",
]
AREA_SUFFIXES = ("街道", "镇", "乡", "区", "县", "市", "省")
SUFFIXES = tuple(sorted(set(FINE_SUFFIXES) | set(AREA_SUFFIXES), key=len, reverse=True))
_ANON = re.compile(r"^(?:[A-Z]\d*[市区县省]|[市区县省](?=[A-Z]))+")  # TipDM's anonymised 'A市A3区' prefixes
_LEAD = re.compile(
    r"^(?:在|于|位于|地处|座落在|坐落在|是|的|和|与|及|对|向|从|到|至|我|我们|本人|市民|住在|家住)+"
)
_ADMIN = re.compile(
    r"^.{1,6}?(?:省|市|区|县)(?=.{2,})"
)  # drop a leading admin level: 海口市龙华区xx路 → xx路
POS_TAGS = frozenset({"ns", "nt"})  # nz (other proper nouns) tagged 福利, 美化 … as names
_STOP_FLAGS = ("p", "c", "u", "d", "x", "w", "y", "e", "o", "f", "q")
_STOP_WORDS = frozenset(
    [
        "的",
        "在",
        "于",
        "和",
        "与",
        "及",
        "是",
        "我",
        "我们",
        "你",
        "他",
        "她",
        "它",
        "了",
        "对",
        "向",
        "从",
        "到",
        "把",
        "被",
        "就",
        "都",
        "也",
        "还",
        "很",
        "有",
        "无",
        "该",
        "这",
        "那",
        "其",
        "个",
    ]
)
_BOUNDARY = ("路", "街", "巷", "道", "区", "县", "市", "省", "镇", "乡", "号")  # a name never spans these


def _name_part(word: str, flag: str) -> bool:
    """Whether ``word`` can be the front of a place name (single characters of split names can)."""
    if (
        word in _STOP_WORDS
        or word.endswith(_BOUNDARY)
        or not re.fullmatch(r"[\u4e00-\u9fffA-Za-z0-9]+", word)
    ):
        return False
    if len(word) == 1:
        return flag not in ("p", "c", "uj", "ul", "ug", "d", "x", "m")
    return not flag.startswith(_STOP_FLAGS) and flag not in ("v", "vd", "r", "m")


GENERIC = frozenset(
    [
        "小区",
        "社区",
        "村",
        "组",
        "路",
        "街",
        "道路",
        "街道",
        "马路",
        "公路",
        "广场",
        "市场",
        "学校",
        "医院",
        "公司",
        "我市",
        "本市",
        "该市",
        "全市",
        "全区",
        "城区",
        "市区",
        "西地省",
        "海南省",
        "海口市",
        "中国",
        "国家",
        "政府",
        "市政府",
        "区政府",
        "小学",
        "中学",
        "公园",
        "车站",
        "大楼",
        "号楼",
        "楼",
        "府",
        "城",
        "苑",
        "园",
        "里",
        "站",
        "厂",
        "港",
        "门口",
        "家里",
        "有限公司",
        "附近",
        "周边",
        "对面",
        "旁边",
        "楼下",
        "家里",
        "农村",
        "城市",
        "乡镇",
        "县城",
        "城乡",
        "本村",
        "该村",
        "该小区",
        "本小区",
        "我们小区",
        "整个小区",
        "工单编号",
        "工单号",
        "公众号",
        "车牌号",
        "手机号",
        "电话号",
        "账号",
        "信号",
        "编号",
        "型号",
        "居委会",
        "村委会",
        "办事处",
        "停车场",
        "搅拌站",
        "垃圾站",
    ]
)
_BAD_START = tuple("一二三四五六七八九十几每各本该此这那其多个全某我你他她它请望要想能会可已被把将")
MAX_PLACES = 8


@dataclass(frozen=True, slots=True)
class Places:
    fine: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.fine or self.areas)


def normalize_place(name: str) -> str:
    """``A市A3区景蓉华苑`` → ``景蓉华苑``; ``位于桂花坪街道`` → ``桂花坪街道``."""
    name = _LEAD.sub("", _ANON.sub("", name.strip()))
    if name.endswith("小区") and len(name) >= 5:
        name = name[:-2]  # 丽发新城小区 and 丽发新城 are one place
    if not name.endswith(AREA_SUFFIXES) or name.endswith("小区"):
        name = _ADMIN.sub("", name) if len(name) > 4 else name
        name = _ANON.sub("", name)
    return name


def _is_area(name: str) -> bool:
    return name.endswith(AREA_SUFFIXES) and not name.endswith(("小区", "社区", "园区", "城区"))


def _ok(name: str) -> bool:
    return len(name) >= 2 and name not in GENERIC and not name.startswith(_BAD_START) and not name.isdigit()


class PlaceExtractor:
    """Extracts :class:`Places` from a text and a case's address fields.

    Thread-safe; ``gazetteer`` names are matched verbatim (they come from the grid registry or a
    profile, so they are spelled as the city spells them).
    """

    def __init__(self, gazetteer: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._pos: Any = None  # jieba.posseg.POSTokenizer, built on first use (its import costs ~0.3 s)
        self.set_gazetteer(gazetteer)

    def set_gazetteer(self, names: Iterable[str]) -> None:
        clean = sorted(
            {normalize_place(n) for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True
        )
        clean = [n for n in clean if _ok(n)]
        self.gazetteer = tuple(clean)
        self._gaz_re = re.compile("|".join(map(re.escape, clean))) if clean else None

    def _tags(self) -> dict[str, str]:
        """jieba's word → POS tag table (what ``posseg`` looks up for dictionary words)."""
        if self._pos is None:
            with self._lock:
                if self._pos is None:
                    from jieba import posseg

                    self._pos = posseg.POSTokenizer(get_tokenizer())
        tags: dict[str, str] = self._pos.word_tag_tab
        return tags

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """(word, tag) pairs: the tokenizer's cut (from its block cache: a text just tokenized is
        not cut again) with the dictionary's tags — the tags ``posseg.cut(HMM=False)`` gives
        dictionary words, at a fraction of its cost."""
        tags = self._tags()
        return [(w, tags.get(w, "x")) for w in cut_words(text)]

    def extract(self, text: str, fields: Iterable[str] = ()) -> Places:
        """Places in ``text`` and in address-like ``fields`` (address, community, grid name …)."""
        found: dict[str, None] = {}
        for value in fields:
            if value:
                for part in re.split(r"[\s,，、;；/]+", str(value)):
                    self._add(found, part)
        if self._gaz_re is not None:
            for m in self._gaz_re.finditer(text):
                self._add(found, m.group(0))
        words = self.tagged(text)
        for i, (word, flag) in enumerate(words):
            if flag in POS_TAGS and len(word) >= 2:
                self._add(found, word)
            if not word.endswith(SUFFIXES) or len(word) > 8:
                continue
            # glue the words before the suffix: 丽 + 发 + 新城 + 小区, 伊 + 景园 + 滨河 + 苑
            name, j = word, i - 1
            while j >= 0 and i - j <= 4 and _name_part(*words[j]) and len(name) + len(words[j][0]) <= 12:
                name = words[j][0] + name
                j -= 1
            if name != word or len(word) >= 3:
                self._add(found, name)
        fine = [p for p in found if not _is_area(p)]
        areas = [p for p in found if _is_area(p)]
        # a fine place contained in a longer one adds nothing (南门 inside 南门广场)
        fine = [p for p in fine if not any(p != q and p in q for q in fine)]
        return Places(tuple(fine[:MAX_PLACES]), tuple(areas[:MAX_PLACES]))

    @staticmethod
    def _add(found: dict[str, None], raw: str) -> None:
        name = normalize_place(raw)
        if _ok(name) and len(name) <= 16:
            found[name] = None


def shared_places(a: Places, b: Places) -> tuple[str | None, str | None]:
    """The most specific fine place and area two cases share (a fine place may contain the other)."""
    fine = None
    for p in a.fine:
        for q in b.fine:
            hit = p if p == q else (p if p in q and len(p) >= 3 else (q if q in p and len(q) >= 3 else None))
            if hit and (fine is None or len(hit) > len(fine)):
                fine = hit
    area = next((p for p in a.areas if p in b.areas), None)
    return fine, area
