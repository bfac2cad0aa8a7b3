"""Labelled complaints for 类案 (issue 40): no public labelled corpus of Chinese complaints is
available here, so these are written for the tests and the bench, each set phrased many ways as
callers phrase it, and said to be so wherever their figures are reported."""

from __future__ import annotations

# Twelve people trapped in lifts (电梯困人), in their own words.
LIFTS = [
    "电梯困人，我们被困在电梯里半个小时才有人来",
    "小区电梯又坏了，有人被困在电梯里出不来",
    "电梯困人事件频发，物业维保不到位",
    "今天早上电梯突然停在半空，困了三个人",
    "电梯经常故障困人，老人小孩都不敢坐电梯",
    "我家楼栋的电梯困人，打物业电话没人接",
    "电梯又困人了，这个月第三次，维保公司不来修",
    "孩子被困在电梯里，电梯按钮失灵",
    "电梯运行时突然下坠然后困人，非常危险",
    "电梯困人两次了，电梯年检过期",
    "被困电梯四十分钟，救援很慢，电梯老化",
    "小区电梯停运困人，要求更换电梯",
]
# Other things people say, none about lifts.
OTHERS = [
    "路灯坏了一个月，晚上很黑，请尽快修路灯",
    "小区门口垃圾堆放没人清理，臭味很大",
    "孩子入学积分不够，学位申请被拒绝",
    "道路井盖松动，车辆经过响声很大",
    "餐馆油烟直排，熏到楼上住户",
    "共享单车乱停放堵住人行道",
    "楼下商铺违规搭建雨棚占用消防通道",
    "邻居家的狗每天半夜叫个不停",
]
# More sets, for the bench: each a problem many people raise in their own words.
SETS = {
    "lift": LIFTS,
    "water": [
        "小区停水三天了，没有任何通知",
        "突然停水，物业说是管道爆裂，什么时候来水",
        "我们楼停水两天，自来水公司电话打不通",
        "停水没有提前通知，老人家里没水做饭",
        "又停水了，这周第二次停水",
        "水管爆裂导致整栋楼停水",
        "停水一整天，要求尽快恢复供水",
        "小区无故停水，物业推给水务公司",
    ],
    "wages": [
        "工地拖欠工资，几十个工人拿不到钱",
        "老板拖欠我们三个月工资不发",
        "公司倒闭拖欠员工工资和社保",
        "讨要拖欠的工资，包工头失联",
        "工厂拖欠工资半年，工人生活困难",
        "拖欠农民工工资，年底拿不到钱回家",
        "被拖欠工资，劳动监察不处理",
    ],
    "noise": [
        "夜间施工噪音太大，凌晨两点还在施工",
        "工地晚上施工噪音扰民，睡不着觉",
        "附近工地夜间施工，噪音严重",
        "施工噪音从早到晚，周末也不停",
        "夜里施工打桩噪音，孩子无法休息",
        "建筑工地夜间施工噪音超标",
    ],
}
