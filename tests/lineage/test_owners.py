from __future__ import annotations

from types import SimpleNamespace

from srprint.lineage.owners import registered_owners


def _fp(model_id: str | None) -> SimpleNamespace:
    return SimpleNamespace(model={"id": model_id} if model_id else {})


def _rel(cand: str, relation: str, fwer: float | None, verdict: str = "copy") -> dict:
    return {"candidate": cand, "relation": relation, "verdict": verdict, "p_value": fwer, "fwer": fwer}


def test_the_answer_and_the_accepted_relatives_name_their_registered_owners():
    result = {"answer": "derived", "match": "root", "fwer": 0.001,
              "relations": [_rel("root", "derived", 0.001), _rel("sib", "shares a parent", 0.02),
                            _rel("other", "unrelated", 1.0, verdict="independent"),
                            _rel("loose", "shares a parent", 0.2, verdict="shared parent")]}
    registered = [("alice", _fp("sib")), ("bob", _fp("root")), ("carol", _fp("other")),
                  ("dave", _fp("loose")), ("erin", _fp(None))]
    owners = registered_owners(result, registered)
    assert [o["name"] for o in owners] == ["bob", "alice"]  # the match first; unrelated and FWER >= 0.05 not named
    assert owners[0]["answer"] and owners[0]["relation"] == "derived"
    assert owners[1]["relation"] == "shares a parent" and not owners[1]["answer"]


def test_an_unknown_answer_names_no_owner():
    result = {"answer": "unknown", "match": None, "fwer": None,
              "relations": [_rel("x", "unrelated", 1.0, "independent")]}
    assert registered_owners(result, [("alice", _fp("x"))]) == []
