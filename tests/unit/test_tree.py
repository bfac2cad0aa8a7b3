"""The city's tree (city-contract.md): the file's checks, placing a complaint, a district's rules."""

from pathlib import Path

import pytest

from models.base import Category, Policy
from models.tree import LocationProblem, UnitProblem
from models.tree_file import TreeFileError, load, parse
from runtime.settings import CONFIG_DIR
from starter import InvalidInput, validate_case_input
from tests.support.cases import complaint

SHIPPED = CONFIG_DIR / "jurisdictions.toml"
CITY = load(SHIPPED)


def _tree(places: list[dict], **more) -> tuple:
    return parse({"place": places, **more})


BASE = [
    {"code": "9", "name": "市", "level": "city"},
    {"code": "91", "name": "甲区", "level": "district", "parent": "9"},
    {"code": "911", "name": "一街道", "level": "street", "parent": "91"},
]
RULES = {"district": {"91": {"policy": "1030", "policies": ["1030"], "sign": "甲区诉求"}}}


def test_the_shipped_tree_is_whole():
    districts = {p.name: p.code for p in CITY.places.values() if p.level.value == "district"}
    assert districts == {"光明区": "440311", "罗湖区": "440303", "谯城区": "341602"}
    assert len(CITY.children("440311")) == 6  # 1+6+31+N: six streets
    assert len(CITY.children("440303")) == 10  # 1+10+81+N: ten streets
    assert CITY.sign("440303") == "罗湖区群众诉求服务"
    assert CITY.rules(CITY.codes_of("341602106")).policy == Policy.p13710  # 谯城区: 13710 (seed 003)
    for code, rules in CITY.districts.items():  # every category goes somewhere in every district
        assert set(rules.routing) == set(Category), code


@pytest.mark.parametrize(
    ("places", "more", "problem"),
    [
        (BASE + [{"code": "911", "name": "二街道", "level": "street", "parent": "91"}], RULES, "place[3].code: 911 is also place[2]'s code"),
        (BASE + [{"code": "9111", "name": "社区", "level": "community", "parent": "91"}], RULES, "place[3].parent: a community lies under a street"),
        (BASE + [{"code": "9112", "name": "x", "level": "village", "parent": "911"}], RULES, "place[3].level: 'village' is not one of"),
        (BASE + [{"code": "9113", "name": "x", "level": "community", "parent": "404"}], RULES, "place[3].parent: 404 is no place of the file"),
        (BASE + [{"code": "9114", "name": "一街道", "level": "street", "parent": "91"}], RULES, "place[3].name: 一街道 is also place[2]'s name"),
        (BASE, {}, "district.91: missing"),
        (BASE, {"district": {"91": {"policy": "999", "sign": "s"}}}, "district.91.policy: '999' is not one of"),
        (BASE, {**RULES, "street": {"911": {"policy": "13710"}}}, "street.911.policy: 13710 is not a policy 甲区 allows"),
        (BASE, {"district": {"91": {**RULES["district"]["91"], "routing": {"noise": "u"}}}}, "district.91.routing.noise: not a category"),
        (BASE, {"district": {"91": {**RULES["district"]["91"], "routing": {"labour": "nope"}}}}, "district.91.routing.labour: 'nope' is no unit code"),
        (BASE, {**RULES, "unit": [{"code": "u1", "name": "局", "place": "404"}]}, "unit[0].place: 404 is no place of the file"),
        (BASE, {**RULES, "extra": {}}, "extra: not a section of the tree file"),
    ],
)  # fmt: skip
def test_every_problem_is_named_by_its_path(places, more, problem):
    _, problems = _tree(places, **more)
    assert any(p.startswith(problem) for p in problems), problems


def test_a_cycle_is_named():
    places = [
        {"code": "9", "name": "市", "level": "city"},
        {"code": "91", "name": "甲区", "level": "district", "parent": "911"},
        {"code": "911", "name": "一街道", "level": "street", "parent": "91"},
    ]
    _, problems = _tree(places, **RULES)
    assert any("a cycle (91 -> 911 -> 91)" in p for p in problems), problems


def test_a_file_with_problems_is_never_used(tmp_path: Path):
    bad = tmp_path / "tree.toml"
    bad.write_text('[[place]]\ncode = "9"\nname = "市"\nlevel = "town"\n', encoding="utf-8")
    with pytest.raises(TreeFileError, match=r"place\[0\]\.level"):
        load(bad)
    (tmp_path / "broken.toml").write_text("[[place", encoding="utf-8")
    with pytest.raises(TreeFileError, match="not TOML"):
        load(tmp_path / "broken.toml")


def test_placed_by_names_by_code_and_unplaced_below_the_deepest_match():
    by_names = CITY.place(district="罗湖区", street="东门街道", community="东门社区", grid="03综合网格")
    assert by_names.place.grid == "440303003001-03" and not by_names.unplaced
    by_code = CITY.place(code="440303003001")
    assert (by_code.place.district, by_code.place.street) == ("440303", "440303003")
    by_alias = CITY.place(district="罗湖区", street="东门", community="湖贝社区")
    assert by_alias.place.community == "440303003002"
    unknown = CITY.place(district="罗湖区", street="东门街道", community="新开社区")
    assert unknown.unplaced and unknown.place.deepest == "440303003" and unknown.unmatched == {"community": "新开社区"}
    assert unknown.nearest  # the names the tree has there
    typo = CITY.place(district="光明区", street="凤凰街到", community="塘家社区")
    assert typo.unplaced and typo.place.deepest == "440311" and "凤凰街道" in typo.nearest


def test_a_district_outside_the_tree_or_a_code_that_disagrees_is_refused():
    with pytest.raises(LocationProblem) as err:
        CITY.place(district="不存在区", street="随便街道", community="某社区")
    assert err.value.field == "complaint.location.district" and "光明区" in err.value.nearest
    with pytest.raises(LocationProblem) as err:
        CITY.place(code="440303003001", district="光明区")
    assert err.value.field == "complaint.location.district"
    with pytest.raises(LocationProblem) as err:
        CITY.place(code="123456")
    assert err.value.field == "complaint.location.code"


def test_the_edge_files_the_districts_policy_and_refuses_one_it_does_not_allow():
    qiaocheng = complaint(location={"district": "谯城区", "street": "五马镇", "community": "五马村"})
    assert validate_case_input({"complaint": qiaocheng}).policy == Policy.p13710
    assert validate_case_input({"complaint": qiaocheng, "policy": "1030"}).policy == Policy.p1030
    one_policy, _ = _tree(BASE, **RULES)
    filing = {
        "complaint": complaint(location={"district": "甲区", "street": "一街道", "community": "x"}),
        "policy": "13710",
    }
    with pytest.raises(InvalidInput) as err:
        validate_case_input(filing, city=one_policy)
    assert err.value.errors[0][0] == "policy" and "not one 甲区 allows (1030)" in str(err.value)
    outside = complaint(location={"district": "不存在区", "street": "随便街道", "community": "x"})
    with pytest.raises(InvalidInput) as err:
        validate_case_input({"complaint": outside})
    assert err.value.errors[0][0] == "complaint.location.district"


def test_a_code_fills_in_the_names_and_a_street_overrides_its_district():
    filed = validate_case_input({"complaint": complaint(location={"code": "440303003002"})})
    location = filed.complaint.location
    assert (location.district, location.street, location.community) == ("罗湖区", "东门街道", "湖贝社区")
    dongmen = CITY.codes_of("440303003")
    assert CITY.route(dongmen, Category.urban_management).code == "440303003-zf"  # its own enforcement team
    assert CITY.route(CITY.codes_of("440303001"), Category.urban_management).code == "440303-cg"


def test_units_by_code_name_or_alias_within_the_district():
    assert CITY.unit("440303", "区住建局").code == "440303-zj"
    assert CITY.unit("440311", "住建局").code == "440311-zj"
    assert CITY.unit(None, "440303-zj").name == "罗湖区住房和建设局"
    assert CITY.unit("440311", "没有这个局") is None
    with pytest.raises(UnitProblem, match="names 3 units"):
        CITY.unit(None, "住建局")


def test_containment_follows_the_parents():
    assert CITY.contains("440300", "440303003001-03")
    assert CITY.contains("440303", "440303003001")
    assert not CITY.contains("440311", "440303003001")
    assert CITY.contains(None, "341602106001")


def test_an_unlisted_unit_is_kept_with_a_warning_or_refused_where_the_operator_lists_them():
    from starter.jurisdictions import UnitsRefused, read_units

    gm = CITY.codes_of("440311004001")
    named, warnings = read_units("dispatch", {"department": "区住建局"}, CITY, gm, Category.housing, listed_only=True)
    assert named["department"] == "光明区住房和建设局" and warnings == []
    named, [warning] = read_units(
        "transfer", {"to_department": "区房管局"}, CITY, gm, Category.housing, listed_only=False
    )
    assert named["to_department"] == "区房管局" and warning.startswith(
        "to_department: '区房管局' is no unit of the tree"
    )
    with pytest.raises(UnitsRefused) as err:
        read_units(
            "summon_departments",
            {"departments": ["区水务局", "区房管局"]},
            CITY,
            gm,
            Category.housing,
            listed_only=True,
        )
    assert err.value.errors[0][0] == "departments[1]" and "nearest" in err.value.errors[0][1]
    assert read_units("record_contact", {"note": "n"}, CITY, gm, Category.housing, listed_only=True) == (
        {"note": "n"},
        [],
    )


def test_one_unit_is_one_name_whichever_code_name_or_alias_names_it():
    """The edge records a unit by its own name, so the "sees" rule and the league compare one
    string for one unit (city-contract.md)."""
    from starter.jurisdictions import read_units

    gm = CITY.codes_of("440311004001")
    for given in ("440311-zj", "光明区住房和建设局", "区住建局", "住建局"):
        named, _ = read_units("dispatch", {"department": given}, CITY, gm, Category.housing, listed_only=True)
        assert named["department"] == "光明区住房和建设局", given
    named, _ = read_units(
        "dispatch", {"department": "住建局"}, CITY, CITY.codes_of("440303003001"), Category.housing, listed_only=True
    )
    assert named["department"] == "罗湖区住房和建设局"  # the same alias, the case's own district's unit


def test_another_districts_unit_takes_a_case_only_by_transfer():
    from starter.jurisdictions import UnitsRefused, read_units

    gm = CITY.codes_of("440311004001")
    for given in ("440303-zj", "罗湖区住房和建设局"):
        with pytest.raises(UnitsRefused) as err:
            read_units("dispatch", {"department": given}, CITY, gm, Category.housing, listed_only=False)
        [(field, message)] = err.value.errors
        assert field == "department" and "罗湖区" in message and "only by transfer" in message
    moved, _ = read_units("transfer", {"to_department": "440303-zj"}, CITY, gm, Category.housing, listed_only=True)
    assert moved["to_department"] == "罗湖区住房和建设局"
    local, _ = read_units("transfer", {"to_department": "水务局"}, CITY, gm, Category.housing, listed_only=True)
    assert local["to_department"] == "光明区水务局"  # an alias three districts use: the case's own first
    # A case filed before the tree (no place): a name several units answer stays as it was given.
    old, _ = read_units("dispatch", {"department": "水务局"}, CITY, None, Category.housing, listed_only=False)
    assert old["department"] == "水务局"


def test_a_dispatch_without_a_department_takes_the_routing_tables_unit():
    from starter.jurisdictions import UnitsRefused, read_units

    dongmen, nanhu = CITY.codes_of("440303003001"), CITY.codes_of("440303005001")
    named, _ = read_units("dispatch", {"note": "x"}, CITY, dongmen, Category.urban_management, listed_only=True)
    assert named["department"] == CITY.units["440303003-zf"].name  # 东门街道's own enforcement team
    named, _ = read_units("dispatch", {"department": None}, CITY, nanhu, Category.urban_management, listed_only=True)
    assert named["department"] == CITY.units["440303-cg"].name
    with pytest.raises(UnitsRefused) as err:
        read_units("dispatch", {}, CITY, None, Category.urban_management, listed_only=False)
    assert err.value.errors[0][0] == "department" and "routing table" in err.value.errors[0][1]
