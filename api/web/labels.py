"""Chinese labels for statuses, roles, priorities, sources and audit actions, and Chinese messages
for the store's and the API's error codes (the pages never show an English error or a traceback)."""

from __future__ import annotations

from triage.store.display import STATUS_LABELS

STATUS = STATUS_LABELS
ROLE = {
    "operator": "热线接线员",
    "grid_worker": "网格员",
    "reviewer": "审核员",
    "department": "职能部门",
    "deputy": "人大代表",
    "admin": "管理员",
}
PRIORITY = {"urgent": "紧急", "high": "较急", "normal": "一般"}
SOURCE = {
    "hotline": "12345热线",
    "grid": "网格上报",
    "deputy": "代表收集",
    "web": "网上来信",
    "open311": "Open311",
    "batch": "批量导入",
}
ACTION = {
    "submit": "受理登记",
    "claim": "领取审核",
    "release": "放弃领取",
    "accept": "审核通过并交办",
    "correct": "修正后交办",
    "auto_dispatch": "自动派单（高于阈值，未经审核）",
    "merge": "合并为重复件",
    "absorb": "并入重复诉求",
    "unmerge": "撤销合并",
    "unabsorb": "撤销并入的重复件",
    "reject": "不予受理",
    "start": "部门签收办理",
    "resolve": "办结",
    "return": "部门退回",
    "close": "回访并结案",
    "reopen": "重新办理",
    "reveal_contact": "查看联系电话",
    "supervise": "代表督办",
    "escalate": "吹哨上报",
    "report_in": "接收部门报到",
    "rehandle": "回访不满意，退回重办",
    "followup_attempt": "回访未接通",
    "close_unreached": "未回访结案",
    "reclassify": "模型重新分类",
    "flag": "标记复核",
    "flag_rereview": "模型新建议不一致，标记待复核",
    "rereview_dismiss": "复核：维持原判",
    "rereview_correct": "复核：改为新类别",
    "attachment_added": "上传附件",
}
FIELD = {
    "category": "分类",
    "subcategory": "子类",
    "department_code": "部门",
    "department": "部门",
    "level": "层级",
    "priority": "优先级",
    "deadline_hours": "时限（小时）",
}
LIST_KINDS = {"problems": "问题清单", "assignments": "交办清单", "completions": "办结清单"}
SATISFACTION = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
# 回访 call outcomes (triage.store.followup), in the order the form offers them.
FOLLOWUP_RATINGS = {
    "satisfied": "满意（结案）",
    "basically_satisfied": "基本满意（结案）",
    "unsatisfied": "不满意（退回部门重办）",
    "unreachable": "未接通（稍后再打）",
}

# Error codes (store, engine, API) → message for the person at the screen.
ERROR = {
    "case_not_found": "案件不存在。",
    "illegal_transition": "案件当前状态不允许此操作，请刷新页面。",
    "lease_held": "该案件已被其他审核员领取。",
    "version_conflict": "案件已被他人修改，请刷新页面后重试。",
    "reason_required": "请填写原因。",
    "result_required": "请填写办理结果。",
    "satisfaction_required": "请选择满意度。",
    "invalid_satisfaction": "满意度须为 1 到 5 分。",
    "unknown_category": "请选择有效的分类。",
    "unknown_subcategory": "请选择该分类下有效的子类。",
    "unknown_department": "请选择有效的部门。",
    "unknown_level": "请选择有效的层级。",
    "unknown_priority": "请选择有效的优先级。",
    "category_required": "请选择分类。",
    "department_required": "请选择部门。",
    "needs_review": "系统建议置信度不足，不能批量采纳，请逐件审核。",
    "duplicate_case_no": "同一案件被重复勾选。",
    "correction_required": "请至少修改分类、部门、层级或优先级中的一项。",
    "nothing_to_accept": "系统建议不完整，请使用“修正”指定分类和部门。",
    "merge_into_self": "不能合并到自身。",
    "merge_target_closed": "目标案件已结束，只能合并到未结案件。",
    "into_required": "请填写要合并到的案件编号。",
    "missing_text": "请输入诉求内容。",
    "empty_text": "请输入诉求内容。",
    "no_chinese": "诉求内容须包含中文。",
    "text_too_long": "诉求内容过长，请精简后再提交。",
    "too_long": "填写的内容过长，请删减后再提交。",
    "bad_encoding": "诉求内容含有无法识别的字符。",
    "wrong_type": "诉求内容格式不正确。",
    "forbidden": "您的账号无权执行此操作。",
    "requirement_required": "请填写督办要求。",
    "unknown_rating": "请选择评价结果。",
    "title_required": "请填写标题。",
    "problem_required": "请填写问题。",
    "suggestion_required": "请填写建议。",
    "answer_required": "请填写答复内容。",
    "proposal_not_found": "代表建议不存在。",
    "invalid_due": "请填写今后一年内的督办期限。",
    "invalid_case_state": "案件当前状态不允许此操作，请刷新页面。",
    "not_upward": "只能向上级或同级其他部门吹哨。",
    "same_department": "案件已在该部门办理，请选择其他部门。",
    "no_higher_level": "案件已在最高层级，请指定接收部门。",
    "unauthorized": "请先登录。",
    "not_found": "页面不存在。",
    "unknown_source": "来源无效。",
    "unknown_status": "状态无效。",
    "no_triager": "分拨模型尚未加载，请稍后再试。",
    "no_routing": "分拨配置尚未加载，请稍后再试。",
    "csrf": "页面已过期，请刷新后重试。",
    "not_flagged": "该案件没有待复核标记，可能已由他人处理。",
    "action_not_allowed": "案件当前状态不能直接改类别，请先退回审核，或选择维持原判。",
    "unknown_action": "操作无效。",
    "unexpected_field": "操作无效。",
    "no_job": "批处理任务不存在。",
    "file_too_large": "文件过大，请压缩后再上传。",
    "image_too_large": "图片像素过多，请缩小后再上传。",
    "unsupported_file_type": "文件类型不支持：请上传 JPEG、PNG、WebP 格式的图片或 PDF 文件。",
    "empty_file": "文件是空的，请重新选择。",
    "too_many_attachments": "本案件的附件已达上限。",
    "case_closed": "案件已结束，不能再上传附件。",
    "attachment_not_found": "附件不存在。",
}


def error_message(code: str | None, fallback: str = "操作未能完成，请稍后再试。") -> str:
    return ERROR.get(code or "", fallback)
