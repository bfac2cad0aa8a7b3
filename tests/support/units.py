"""Labelled closed cases for the suggested unit (issue 40, part 4). No public labelled corpus of
Chinese complaints is available here, so these are made for the tests and the bench: each of eight
units of 光明区 has the problems it handles in callers' words, filed under the categories callers
and hotline operators choose for them. Several of those choices are not the unit's own (a burst
water main filed as 城市管理, a school's canteen as 卫生), which is what a routing table by
category cannot see and a model of the words can. Wherever a figure from these is reported, it
says it was measured on made-up cases."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.engine import Engine

from readmodel.store import said_of
from readmodel.tables import CASES, CaseRow

DISTRICT = "440311"  # 光明区

# unit -> (the problems it handles, the categories they are filed under, weighted)
UNITS: dict[str, tuple[list[str], list[str]]] = {
    "光明区城市管理和综合执法局": (
        [
            "路边摊贩占道经营",
            "商铺门口乱堆放杂物",
            "垃圾桶满了没人清运",
            "楼下烧烤店油烟扰民",
            "违规搭建铁皮棚",
            "共享单车乱停放堵住人行道",
            "流动摊贩夜间叫卖噪音",
            "绿化带被人占用种菜",
            "路灯坏了晚上很黑",
            "广告牌松动有掉落危险",
        ],
        ["urban_management"] * 7 + ["environment"] * 2 + ["other"],
    ),
    "光明区住房和建设局": (
        [
            "工地夜间施工噪音很大",
            "物业公司乱收停车费",
            "小区电梯经常困人维保不到位",
            "开发商延期交房",
            "房屋外墙瓷砖脱落",
            "物业维修基金使用不公开",
            "工地渣土车带泥上路",
            "新房漏水开发商不处理",
        ],
        ["property"] * 5 + ["housing"] * 3 + ["urban_management"] * 2,
    ),
    "光明区人力资源局": (
        [
            "公司拖欠工资三个月",
            "工厂辞退员工不给补偿",
            "老板不签劳动合同",
            "社保没有按时缴纳",
            "加班费一直不发",
            "工伤认定申请没人受理",
            "包工头拿了钱跑了工人讨薪",
        ],
        ["labour"] * 9 + ["other"],
    ),
    "光明区教育局": (
        [
            "孩子入学积分不够学位被拒",
            "学校乱收补课费",
            "幼儿园收费太高",
            "学校食堂饭菜质量差",
            "校车超载接送学生",
            "老师体罚学生",
            "转学手续办不下来",
        ],
        ["education"] * 8 + ["medical"] + ["traffic"],
    ),
    "光明区卫生健康局": (
        [
            "社康中心排队时间太长",
            "医院收费不透明",
            "诊所无证行医",
            "疫苗接种预约不上",
            "医生态度恶劣",
            "药店卖过期药品",
        ],
        ["medical"] * 9 + ["other"],
    ),
    "光明区生态环境局": (
        [
            "工厂排放废气味道刺鼻",
            "河道里有工厂偷排污水",
            "厂房噪音昼夜不停",
            "工业废料露天堆放",
            "化工厂气味熏得头疼",
            "汽修厂喷漆废气扰民",
        ],
        ["environment"] * 8 + ["urban_management"] * 2,
    ),
    "光明区交通运输局": (
        [
            "公交车长时间不来",
            "出租车拒载乱收费",
            "网约车司机绕路",
            "公交站台被拆没有遮雨棚",
            "公交线路取消出行不便",
            "泥头车超速行驶很危险",
        ],
        ["traffic"] * 9 + ["other"],
    ),
    "光明区水务局": (
        [
            "小区停水三天没有通知",
            "自来水发黄有异味",
            "路面积水下水道堵塞",
            "供水管道爆裂水流满街",
            "暴雨后内涝车辆被淹",
            "排水井盖松动",
            "水压太低高层用不了水",
        ],
        ["urban_management"] * 4 + ["environment"] * 3 + ["other"] * 2 + ["property"],
    ),
}
PLACES = ["凤凰社区", "光明社区", "东周社区", "翠湖社区", "玉律社区", "楼村社区", "新羌社区", "马田社区"]
WHERE = ["小区门口", "我家楼下", "路口", "附近", "旁边的", "对面", ""]
SINCE = ["已经一个星期了", "好几天了", "反映过多次", "一直没人管", "今天又出现了", ""]
ASK = ["请尽快处理", "希望相关部门管一管", "要求给个说法", "请派人来看看", "麻烦尽快解决", ""]


@dataclass(frozen=True)
class Labelled:
    text: str
    unit: str  # the unit that finally handled it
    category: str  # as it was filed


SAID_IN_PART = 0.3  # of callers who say only part of it ("停水没通知")
HANDED_ELSEWHERE = 0.05  # of cases another unit finally handled (a shared matter, a judgement call)


def labelled(n: int, seed: int = 11) -> list[Labelled]:
    """n closed cases, the units in turn (so each has n/8), in callers' varied words."""
    rng = random.Random(seed)
    names = list(UNITS)
    out = []
    for i in range(n):
        unit = names[i % len(names)]
        problems, categories = UNITS[unit]
        problem = rng.choice(problems)
        if rng.random() < SAID_IN_PART and len(problem) > 6:
            start = rng.randrange(0, len(problem) - 4)
            problem = problem[start : start + rng.randrange(4, len(problem) - start + 1)]
        parts = [rng.choice(PLACES) + rng.choice(WHERE), problem, rng.choice(SINCE), rng.choice(ASK)]
        handler = rng.choice(names) if rng.random() < HANDED_ELSEWHERE else unit
        out.append(Labelled("，".join(p for p in parts if p), handler, rng.choice(categories)))
    return out


def seed_closed(engine: Engine, cases: list[Labelled], district: str = DISTRICT, prefix: str = "learn") -> None:
    """The cases as closed rows of the read model (no workflow runs), for the model to learn from."""
    now = datetime.now(timezone.utc)
    rows = [
        CaseRow(
            case_id=f"{prefix}-{i:06d}",
            run_id="r",
            version=1,
            channel="hotline",
            category=c.category,
            track="routine",
            policy="1030",
            district="光明区",
            street="",
            community="",
            department=c.unit,
            first_department=c.unit,
            status="closed",
            received_at=now - timedelta(days=30),
            closed_at=now - timedelta(days=20),
            updated_at=now,
            district_code=district,
            said=said_of(c.text, ""),
        ).model_dump()
        for i, c in enumerate(cases)
    ]
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(CASES.insert(), rows[start : start + 5000])
