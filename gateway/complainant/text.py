"""The complainant's page in their words: Chinese first, English by ?lang=en or Accept-Language."""

from __future__ import annotations

from models.labels import Labels

WORDS: dict[str, tuple[str, str]] = {
    "title": ("我的诉求", "My complaint"),
    "case_no": ("案件编号", "Case"),
    "status": ("办理状态", "Status"),
    "department": ("责任单位", "Handled by"),
    "not_yet": ("待分派", "not assigned yet"),
    "phone": ("联系电话", "Your phone"),
    "steps": ("办理进度", "Progress"),
    "promised": ("承诺时限", "Promised by"),
    "done_at": ("完成时间", "Done"),
    "step_done": ("已完成", "done"),
    "step_late": ("已完成（超时）", "done late"),
    "step_due": ("办理中", "under way"),
    "step_overdue": ("已超时", "overdue"),
    "step_waiting": ("未开始", "not started"),
    "step_not_needed": ("无需办理", "not needed"),
    "answers": ("部门答复", "The department's answers"),
    "reply": ("答复", "Reply"),
    "resolution": ("办结情况", "Resolution"),
    "no_answers": ("部门尚未答复。", "No answer yet."),
    "notes": ("我的补充说明", "What I added"),
    "add_note": ("补充说明", "Add a detail"),
    "photos": ("照片", "Photos"),
    "photo_problem": ("您上传的问题照片", "your photo of the problem"),
    "photo_after": ("整改后照片", "the photo after the fix"),
    "photo_other": ("照片", "photo"),
    "add_photo": ("上传照片", "Send a photo"),
    "photo_hint": (
        "拍摄或选择一张问题现场的照片（位置等信息会被去除）",
        "Take or choose a photo of the problem (its location data is removed)",
    ),
    "send_photo": ("上传", "Send"),
    "photo_too_large": ("照片太大，请换一张（最大10MB）", "The photo is too large; try another (10 MB at most)"),
    "photo_refused": ("无法识别为照片，请换一张", "This is not a photo we can read; try another"),
    "done_photo": ("已收到您的照片，已转责任单位。", "Thank you: your photo is passed on to the department."),
    "note_hint": (
        "如有新的情况，请在此补充（500字以内），我们会转给责任单位。",
        "Anything new? Add it here (500 characters at most); we pass it on to the department.",
    ),
    "send": ("提交", "Send"),
    "verdict": ("回访评价", "Your verdict"),
    "verdict_hint": (
        "部门已办结您的诉求，请告诉我们：",
        "The department says your complaint is resolved. Please tell us:",
    ),
    "resolved_q": ("问题是否已解决？", "Was the problem solved?"),
    "yes": ("已解决", "Yes"),
    "no": ("未解决", "No"),
    "satisfaction_q": ("您对办理结果是否满意？", "Are you satisfied with how it was handled?"),
    "satisfied": ("满意", "Satisfied"),
    "basically_satisfied": ("基本满意", "Basically satisfied"),
    "dissatisfied": ("不满意", "Dissatisfied"),
    "unreachable": ("未联系上", "Not reached"),
    "comment": ("意见（选填，500字以内）", "Comment (optional, 500 characters at most)"),
    "your_verdict": ("您的评价", "Your verdict"),
    "reopened": (
        "已重新交办理单位办理，办结后会再请您评价。",
        "It went back to the department; you will be asked again when it is resolved.",
    ),
    "done_note": ("已收到您的补充说明，已转责任单位。", "Thank you: your detail is passed on to the department."),
    "done_verdict": ("感谢您的评价。", "Thank you for your verdict."),
    "refused": (
        "未能提交：案件状态已变化，请查看最新进度。",
        "Not sent: the case has changed meanwhile; see where it stands now.",
    ),
    "form_expired": ("页面已过期，请重新提交。", "The page has expired; please send it again."),
    "errors": ("请检查：", "Please check:"),
    "required": ("请填写或选择", "please fill in or choose"),
    "too_long": ("不能超过500字", "at most 500 characters"),
    "not_found": ("链接无效", "This link does not work"),
    "not_found_text": (
        "该链接无效或已过期。如需查询，请致电 12345 并提供案件编号。",
        "The link is not valid or has expired. To ask about your case, call 12345 with its number.",
    ),
    "unavailable": ("暂时无法访问", "Unavailable"),
    "unavailable_text": ("系统繁忙，请稍后再试或致电 12345。", "Please try again shortly, or call 12345."),
    "hotline": ("如有疑问请致电 12345", "Questions? Call 12345"),
    "language": ("English", "中文"),
    "by_complainant": ("（本人）", "(you)"),
    "by_hotline": ("（热线回访）", "(hotline call)"),
    "by_supervisor": ("（督办）", "(supervisor)"),
    "by_department": ("（办理单位回访）", "(the department's call)"),
}

# The status in plain words, for the person who complained.
STATUS: dict[str, tuple[str, str]] = {
    "received": ("已受理，正在分派", "Accepted; being assigned"),
    "dispatched": ("已派至责任单位", "Assigned to the department"),
    "handling": ("责任单位正在办理", "The department is working on it"),
    "resolved": ("已办结，请您评价", "Resolved; please give your verdict"),
    "closed": ("已办结并回访，案件已关闭", "Resolved and followed up; closed"),
    "merged": ("已并入您的另一件同类诉求一并办理", "Handled together with your earlier complaint"),
    "mediating": ("正在调解", "In mediation"),
    "agreed": ("已达成调解协议，正在履行", "An agreement was reached; it is being carried out"),
    "referred": ("调解未成，已告知您可依法选择的途径", "Mediation ended; you were told where you may go next"),
    "withdrawn": ("已撤回调解", "Mediation withdrawn"),
}


class Words(Labels):
    def __call__(self, key: str) -> str:
        word = WORDS.get(key)
        return word[self._i] if word else key

    def plain_status(self, key: str) -> str:
        return self._of(STATUS, key)
