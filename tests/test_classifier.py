"""CategoryClassifier and model bundles on small hand-written messages (no shared data)."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone

from triage.classify.bundle import (
    MODEL_FILENAME,
    ModelBundle,
    TokenizerMismatchWarning,
    load_bundle,
    save_bundle,
)
from triage.classify.classifier import CategoryClassifier
from triage.errors import ModelLoadError
from triage.text.tokenizer import tokenize

# Hand-written examples, 12 per class. Never copy rows from ../shared into the repository.
MESSAGES: dict[str, list[str]] = {
    "交通运输": [
        "东风路公交站台被拆除后一直没有恢复，早上等公交车的人只能站在马路上",
        "高速公路收费站排队太长，节假日堵车两个小时，建议增加人工收费通道",
        "出租车司机拒载还绕路，打表计费明显多收，请交通运输局查处",
        "十字路口的红绿灯坏了三天，车辆乱行，非常危险，请尽快修复信号灯",
        "网约车平台随意加价，司机没有营运证，乘客安全没有保障",
        "长途汽车站附近黑车拉客严重，票价混乱，请运管部门整治",
        "地铁二号线早高峰车厢太挤，希望缩短发车间隔增加班次",
        "货车超载上路压坏了乡村公路，路面到处是坑，请交通部门管一管",
        "新开通的公交线路绕远路，站点设置不合理，建议调整线路走向",
        "驾校考试预约一直约不上，科目二排队要等三个月",
        "渡口的轮渡船只老旧，没有救生衣，过河的村民很担心安全",
        "电动车上牌需要跑好几趟交警大队，手续太繁琐",
    ],
    "教育文体": [
        "小学放学时间太早，双职工家庭没人接孩子，希望学校开展课后托管服务",
        "幼儿园收费不断上涨，还要交各种兴趣班费用，家长负担太重",
        "中学老师在校外有偿补课，暗示学生必须参加，请教育局调查",
        "学区划分不合理，小区孩子要跨过铁路去很远的学校上学",
        "学校食堂饭菜质量差价格贵，学生经常吃不饱",
        "体育馆长期不对市民开放，健身器材也坏了没人修",
        "民办培训机构卷款跑路，预交的学费退不回来",
        "高中教室没有空调，夏天四十度学生热得没法上课",
        "社区图书馆开放时间太短，周末也不开门，希望延长借阅时间",
        "教师职称评定不公开不透明，乡村教师晋升太难",
        "孩子转学手续复杂，学籍迁移要等一个学期",
        "广场舞音乐和文化活动场地不足，希望多建社区文化活动中心",
    ],
    "环境保护": [
        "化工厂晚上偷偷排放废气，气味刺鼻，附近居民头晕恶心",
        "河道里有人倾倒垃圾和污水，河水发黑发臭，鱼都死了",
        "搅拌站粉尘污染严重，窗户关着家里还是一层灰",
        "工地夜间施工噪音扰民，凌晨两点还在打桩，无法入睡",
        "养猪场粪便直接排进水塘，周边臭气熏天，请环保局处理",
        "烧烤店油烟直排，楼上住户家里全是油烟味",
        "砖厂烟囱冒黑烟，空气质量很差，请环保部门检测",
        "小区旁边的垃圾中转站渗滤液外流，污染了地下水",
        "采石场破坏山体植被，爆破震得房子开裂，环境破坏严重",
        "电镀厂重金属废水排放超标，农田灌溉用水被污染",
        "KTV音响声音太大，每天深夜噪声扰民",
        "焚烧秸秆浓烟滚滚，呛得人喘不过气",
    ],
    "卫生计生": [
        "医院挂号难，专家号半夜排队也挂不上，号贩子倒卖专家号",
        "乡镇卫生院医生态度恶劣，开大处方乱收费",
        "社区医院药品短缺，慢性病患者买不到常用药",
        "二孩生育登记手续繁琐，准生证办理要跑好多部门",
        "诊所无证行医，给病人输液出现不良反应",
        "医保报销比例太低，住院费用大部分要自费",
        "疫苗接种点预约困难，孩子的疫苗一直打不上",
        "医院停车难，急诊病人家属找不到停车位",
        "药店高价销售处方药，没有医生处方也随便卖",
        "产科床位紧张，孕妇只能在走廊加床",
        "食品小作坊卫生条件差，没有健康证就上岗",
        "计划生育奖励扶助金迟迟没有发放到位",
    ],
}


def corpus() -> tuple[list[list[str]], list[str]]:
    docs, labels = [], []
    for label, texts in MESSAGES.items():
        for text in texts:
            docs.append(tokenize(text))
            labels.append(label)
    return docs, labels


SMALL = {"word_min_df": 1, "char_min_df": 1, "calibration_cv": 3}


@pytest.fixture(scope="module")
def data() -> tuple[list[list[str]], list[str]]:
    return corpus()


@pytest.fixture(scope="module")
def model(data) -> CategoryClassifier:
    return CategoryClassifier(**SMALL).fit(*data)


def test_estimator_contract(data, model) -> None:
    fresh = CategoryClassifier(**SMALL)
    assert not [k for k in vars(fresh) if k.endswith("_")], "no learned state before fit"
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "classes_")
    assert list(model.classes_) == sorted(MESSAGES)
    assert model.coef_.shape == (len(MESSAGES), model.n_features_in_)
    assert model.temperature_ > 0
    refit = copy.fit(*data)
    np.testing.assert_allclose(refit.predict_proba(data[0]), model.predict_proba(data[0]), rtol=1e-6)


def test_predict_and_proba(data, model) -> None:
    docs, labels = data
    proba = model.predict_proba(docs)
    assert proba.shape == (len(docs), len(MESSAGES))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    assert (model.predict(docs) == np.array(labels)).mean() > 0.9  # it learned its training data
    assert list(model.predict(docs)) == list(model.classes_[proba.argmax(axis=1)])


def test_unseen_messages(model) -> None:
    tests = {
        "交通运输": "公交车司机开车太快，急刹车把乘客摔倒了，公交公司也不处理",
        "环境保护": "工厂排放的污水把河水染黑了，还有刺鼻的臭味",
        "教育文体": "学校强制学生购买教辅资料，老师还要收补课费",
        "卫生计生": "医院看病排队太久，挂号收费也不合理",
    }
    docs = [tokenize(t) for t in tests.values()]
    assert list(model.predict(docs)) == list(tests)


def test_empty_and_unknown_documents(model) -> None:
    proba = model.predict_proba([[], ["完全", "陌生", "词语"]])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.transform([]).shape == (0, model.n_features_in_)
    assert model.explain([[]], [0]) == [[]]


def test_rejects_raw_strings(model) -> None:
    with pytest.raises(TypeError):
        model.predict_proba("一条没有分词的留言")


def test_explain_terms_come_from_the_document(data, model) -> None:
    docs, _ = data
    proba = model.predict_proba(docs)
    best = proba.argmax(axis=1)
    explanations = model.explain(docs, best, n_terms=5)
    assert len(explanations) == len(docs)
    for doc, terms in zip(docs, explanations, strict=True):
        assert 0 < len(terms) <= 5
        assert len(set(terms)) == len(terms)
        joined = "".join(doc)
        for term in terms:
            assert term in joined
        for a in terms:  # no term inside another
            assert not any(a != b and a in b for b in terms)


def test_explain_uses_cached_features_for_the_same_list(data, model) -> None:
    docs = [list(d) for d in data[0][:3]]
    model.predict_proba(docs)
    cached = model._last[2]
    assert model._features(docs) is cached
    fresh = model.explain([list(d) for d in docs], [0, 0, 0])
    assert fresh == model.explain(docs, [0, 0, 0])
    docs[0] = ["垃圾", "臭味"]  # the same list refilled: features must be recomputed
    assert model._features(docs) is not cached


def test_pickle_round_trip_drops_runtime_state(data, model) -> None:
    blob = pickle.dumps(model)
    assert b"_rt" not in blob[:200]
    restored = pickle.loads(blob)
    np.testing.assert_array_equal(restored.predict_proba(data[0]), model.predict_proba(data[0]))


# ----------------------------------------------------------------------------- bundles
@pytest.fixture(scope="module")
def saved(tmp_path_factory, model) -> tuple:
    directory = tmp_path_factory.mktemp("bundle")
    bundle = ModelBundle(category=model, department=None, metadata={"note": "test"})
    path = save_bundle(bundle, directory)
    return directory, path, bundle


def test_bundle_round_trip(data, saved) -> None:
    directory, path, bundle = saved
    assert path == directory / MODEL_FILENAME
    for where in (directory, path):
        loaded = load_bundle(where)
        np.testing.assert_array_equal(
            loaded.category.predict_proba(data[0]), bundle.category.predict_proba(data[0])
        )
        assert loaded.metadata["model_version"] == bundle.metadata["model_version"]
    meta = loaded.metadata
    assert meta["model_version"].startswith("cat-") and len(meta["model_version"]) == 16
    assert meta["labels"] == sorted(MESSAGES)
    assert {"python", "sklearn", "numpy", "scipy", "jieba", "joblib"} <= set(meta["library_versions"])
    assert meta["tokenizer_fingerprint"].startswith("tok-")
    assert loaded.department is None


def test_model_version_is_a_content_hash(tmp_path, model, saved) -> None:
    again = ModelBundle(category=model, metadata={})
    save_bundle(again, tmp_path)
    assert again.metadata["model_version"] == saved[2].metadata["model_version"]


def test_missing_model(tmp_path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(ModelLoadError, match="not found"):
        load_bundle(tmp_path)  # a directory without model.joblib


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", b"\x80\x04\x95garbage"])
def test_corrupt_model(tmp_path, content) -> None:
    (tmp_path / MODEL_FILENAME).write_bytes(content)
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_bundle(tmp_path)


def test_truncated_model(tmp_path, saved) -> None:
    blob = saved[1].read_bytes()
    (tmp_path / MODEL_FILENAME).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ModelLoadError) as err:
        load_bundle(tmp_path)
    assert "Traceback" not in str(err.value)


@pytest.mark.parametrize(
    "obj", [{"a": 1}, ["list"], {"format": "petition-triage-bundle", "format_version": 1, "category": "x"}]
)
def test_wrong_object(tmp_path, obj) -> None:
    joblib.dump(obj, tmp_path / MODEL_FILENAME)
    with pytest.raises(ModelLoadError):
        load_bundle(tmp_path)


def _rewrite(path, **changes) -> None:
    payload = joblib.load(path)
    payload["metadata"] = payload["metadata"] | changes
    joblib.dump(payload, path)


def test_incompatible_sklearn(tmp_path, saved) -> None:
    target = tmp_path / MODEL_FILENAME
    target.write_bytes(saved[1].read_bytes())
    versions = load_bundle(target).metadata["library_versions"] | {"sklearn": "0.1.0"}
    _rewrite(target, library_versions=versions)
    with pytest.raises(ModelLoadError, match="scikit-learn 0.1.0"):
        load_bundle(target)
    with pytest.warns(UserWarning, match="scikit-learn 0.1.0"):
        load_bundle(target, strict=False)


def test_tokenizer_mismatch_warns(tmp_path, saved) -> None:
    target = tmp_path / MODEL_FILENAME
    target.write_bytes(saved[1].read_bytes())
    _rewrite(target, tokenizer_fingerprint="tok-0000")
    with pytest.warns(TokenizerMismatchWarning):
        load_bundle(target)
    with pytest.raises(ModelLoadError, match="tokenizer"):
        load_bundle(target, strict=True)
