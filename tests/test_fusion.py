"""Ranking arithmetic: fusion, the favoured-days boost, duplicate collapsing."""
from assistant.search.fusion import (
    blend,
    boost_window,
    collapse_duplicates,
    fold_articles,
    rrf,
    same_story,
    shingles,
    text_key,
)
from assistant.types import Passage


def passage(text, source, article_id):
    return Passage(text=text, title="T", url=f"https://{source}/x", source=source,
                   date="2024-01-01", article_id=article_id)


def test_rrf_rewards_agreement_and_weights():
    assert rrf([[7, 3], [3]], k=0) == {3: 1.5, 7: 1.0}
    assert list(rrf([[1, 2], [2, 1]], weights=[2.0, 1.0])) == [1, 2]
    assert rrf([]) == {}


def test_boost_window_moves_items_dated_inside_the_window_first():
    assert boost_window({1: 1.0, 2: 0.8}, {1: 30, 2: 42}, 40, 45, 0.5) == {2: 1.3, 1: 1.0}
    assert boost_window({1: 1.0, 2: 0.8}, {1: 30, 2: 42}, 40, 45, 0.0) == {1: 1.0, 2: 0.8}
    assert list(boost_window({1: 1.0, 2: 0.8}, {1: 30, 2: 46}, 40, 45, 0.5)) == [1, 2]


def test_collapse_duplicates_keeps_the_first_and_names_the_other_outlets():
    ranked = [passage("Storm hits coast.", "a.com", "1"), passage("Other story.", "b.com", "2"),
              passage("Storm  hits coast!", "c.com", "3"), passage("storm hits coast", "d.com", "4")]
    out = collapse_duplicates(ranked)
    assert [p.article_id for p in out] == ["1", "2"]
    assert out[0].also_in == ("c.com", "d.com")
    assert "also in: c.com, d.com" in out[0].citation
    assert text_key("Hello,  World!") == "hello world"


def test_citation_names_title_source_date_and_link():
    p = passage("x", "a.com", "1")
    assert p.citation == "T (a.com, 2024-01-01) https://a.com/x"
    assert p.to_dict()["citation"] == p.citation


def test_the_same_wire_story_cut_differently_is_one_piece_of_evidence():
    story = ("The central bank raised its main interest rate by a quarter point on Thursday, "
             "the third rise this year, citing stubborn inflation in services and rents.")
    ranked = [passage("Advertisement. " + story, "a.com", "1"),
              passage(story + " Markets fell slightly after the news.", "b.com", "2"),
              passage("The central bank kept rates on hold in May.", "c.com", "3")]
    out = collapse_duplicates(ranked)
    assert [p.article_id for p in out] == ["1", "3"] and out[0].also_in == ("b.com",)


def test_shingles_and_same_story():
    assert shingles("a b c", 2) == {"a b", "b c"}
    assert shingles("one", 5) == {"one"}
    assert same_story(shingles("x y z w v u"), shingles("x y z w v u t"))
    assert not same_story(shingles("x y z w v u"), shingles("p q r s t o"))
    assert not same_story(frozenset(), shingles("x"))


def test_blend_normalises_each_list_before_weighting():
    assert blend([{1: 0.9, 2: 0.5}, {2: 12.0, 3: 4.0}]) == {2: 1.0, 1: 1.0, 3: 0.0}
    assert list(blend([{1: 0.9, 2: 0.5}, {2: 12.0, 3: 4.0}], [2.0, 1.0])) == [1, 2, 3]
    assert blend([{}, {7: 3.0}]) == {7: 0.0}


def test_fold_articles_keeps_one_card_an_article_with_the_rest_inside_it():
    ranked = [passage(f"text {n}", "a.example", art) for n, art in enumerate("aaabca")]
    cards = fold_articles(ranked, 1)
    assert [p.article_id for p in cards] == list("abc")
    assert [m.text for m in cards[0].more] == ["text 1", "text 2", "text 5"]
    assert cards[1].more == () and cards[0].to_dict()["more"][0]["text"] == "text 1"
    two = fold_articles(ranked, 2)
    assert [p.text for p in two] == ["text 0", "text 1", "text 3", "text 4"]
    assert [m.text for m in two[1].more] == ["text 2", "text 5"]
    assert fold_articles(ranked, 0) == ranked and fold_articles([], 1) == []