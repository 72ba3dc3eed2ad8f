import gc

from sibling_sentinel.lambda_edge.startup import YOUNG_GENERATION, settle_after_startup


def collectable(thing: object) -> bool:
    """Whether the cyclic collector still scans it: frozen objects are not among its generations."""
    return any(o is thing for o in gc.get_objects())


def test_settling_freezes_what_start_up_built_and_widens_the_young_generation() -> None:
    # given a process whose collector is as CPython starts it, and an object start-up built
    gc.unfreeze()
    built = [[1], [2]]
    # when the sweep settles after its start-up
    settle_after_startup()
    # then start-up's objects are out of the collector's sight, and it collects less often, still on
    assert not collectable(built)
    assert gc.get_threshold()[0] == YOUNG_GENERATION
    assert gc.isenabled()


def test_settling_twice_freezes_only_once() -> None:
    # given a process that has settled once
    settle_after_startup()
    # when objects are made and it is asked to settle again (a forked worker, a warm container)
    made = [[n] for n in range(10)]
    settle_after_startup()
    # then what came after start-up stays collectable
    assert collectable(made)
