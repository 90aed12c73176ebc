"""A small synthetic city profile for tests: hand-written messages, a routing file that names its
departments only by name (codes and levels derived), and a bundle with category and department heads."""

from __future__ import annotations

from pathlib import Path

from triage.classify.bundle import ModelBundle, save_bundle
from triage.classify.classifier import CategoryClassifier
from triage.classify.dispatch import METADATA_KEY, ThresholdChoice
from triage.route.config import department_code
from triage.text.tokenizer import tokenize

# department name → messages it handles (written for these tests, not taken from any data set)
MESSAGES: dict[str, list[str]] = {
    "市公安局交通警察支队": [
        "路口红绿灯坏了车辆乱行，请交警来疏导交通",
        "小区门口违章停车堵住道路，请交警处理乱停车",
        "早高峰十字路口严重堵车，没有交警指挥交通",
        "货车闯红灯超速行驶，希望交警加强路面执法",
        "斑马线附近车辆不礼让行人，请交警查处违章",
        "道路上有车辆长期占道违停，请交警拖车处理",
    ],
    "龙华区城管局": [
        "龙华区金贸路店铺占道经营摆摊，请城管来管理",
        "龙华区滨海大道人行道被流动摊贩占用，城管管一管",
        "龙华区国贸附近违章搭建铁皮房，请城管拆除",
        "龙华区海垦路夜市烧烤占道，油烟扰民，请城管整治",
        "龙华区大同路有人乱贴小广告，请城管清理",
        "龙华区城西路工地渣土乱倒，请城管执法",
    ],
    "美兰区城管局": [
        "美兰区海甸岛店铺占道经营摆摊，请城管来管理",
        "美兰区人民路人行道被流动摊贩占用，城管管一管",
        "美兰区白龙路违章搭建铁皮房，请城管拆除",
        "美兰区和平南路夜市烧烤占道，油烟扰民，请城管整治",
        "美兰区蓝天路有人乱贴小广告，请城管清理",
        "美兰区演丰镇工地渣土乱倒，请城管执法",
    ],
}
CATEGORY_OF = {"市公安局交通警察支队": "交通运输", "龙华区城管局": "城乡建设", "美兰区城管局": "城乡建设"}

ROUTING = """
[router]
version = "test-city"
default_department = "龙华区城管局"
department_model_threshold = 0.0

[levels]
"网格" = 24
"社区" = 48
"街道" = 72
"区" = 96
"市" = 168

[priorities]
urgent = 4
high = 24
normal = 720

[[departments]]
name = "市公安局交通警察支队"

[[departments]]
name = "龙华区城管局"

[[departments]]
name = "美兰区城管局"
level = "市"  # the routing file overrides the level derived from the name

[[departments]]
name = "龙华区金贸街道办"

[[departments]]
code = "xingfu"
name = "幸福社区居委会"

[categories."城乡建设"]
department = "龙华区城管局"
deadline_hours = 100

[categories."交通运输"]
department = "市公安局交通警察支队"
deadline_hours = 50
"""

SMALL = {"word_min_df": 1, "char_min_df": 1, "calibration_cv": 3}


def build_city_profile(
    root: Path,
    name: str = "city",
    *,
    auto_dispatch: ThresholdChoice | None = None,
    repeat: int = 1,
    routing: str = ROUTING,
) -> Path:
    """Write ``root/name`` (profile.toml, routing.toml, model.joblib); ``repeat`` > 1 trains a
    different model (another version) on the same messages."""
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    docs, categories, departments = [], [], []
    for dept, texts in MESSAGES.items():
        for text in texts * repeat:
            docs.append(tokenize(text))
            categories.append(CATEGORY_OF[dept])
            departments.append(department_code(dept))
    metadata: dict = {"training_data": {"sha256": f"{'ab' * 31}{repeat:02d}"}, "metrics": {"eval": {"n": 3}}}
    if auto_dispatch is not None:
        metadata[METADATA_KEY] = auto_dispatch.to_dict()
    bundle = ModelBundle(
        category=CategoryClassifier(**SMALL).fit(docs, categories),
        department=CategoryClassifier(**SMALL, C=0.5 * repeat).fit(docs, departments),
        metadata=metadata,
    )
    save_bundle(bundle, directory)
    (directory / "routing.toml").write_text(routing, encoding="utf-8")
    (directory / "profile.toml").write_text(
        f'[profile]\ntitle = "测试城市 {name}"\nmodel = "."\nrouting = "routing.toml"\n', encoding="utf-8"
    )
    return directory
