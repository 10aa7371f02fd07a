"""One keyword per idea across lecture_utils' public functions (issue 26): each pair below names
one idea, and only the first name is used; a function that takes the network takes it first;
`image` is a tensor (N, 3, H, W), one picture or a batch, and `images` only ever a list (or
another collection) of pictures, which may differ in size."""

import importlib
import inspect
import pkgutil

import lecture_utils

ONE_NAME = {  # the name used: the names it replaced
    "seed": ("generator",),  # an int for the same random numbers on every run, or None
    "batch_size": ("batch",),  # images in one forward pass
    "channel": ("index", "unit"),  # a unit of a layer
    "jitter_px": ("jitter",),  # the largest random shift, in pixels
    "lr": ("step_size", "alpha"),  # the step size of a gradient step (an optimiser's, an attack's)
    "octaves": ("scales",),  # coarse-to-fine levels of a run (DeepDream, style transfer)
    "opacity": ("alpha",),  # how much of a heatmap covers the picture under it
}
# (`step` stays what it is elsewhere: a step's number, a slider's increment; the fooling image's
# step size is lr since issue 36.)
# where `images` is a list or collection of pictures (of any sizes), not one tensor
LISTS_OF_PICTURES = {"embedding.compute_codes", "embedding.mean_top_patch", "images.random_crops", "plotting.tile", "plotting.show_images",
                     "plotting.heatmap_grid", "plotting.show_predictions", "plotting.thumbnail_map"}
# The exercises keep the lecture slides' own names (the slide's make_step takes step_size).
SKIPPED = ("lecture_utils.exercises",)


def public_functions():
    """(name, function) of every public function, named where users meet it: a function of
    `optimize.recipes` that `optimize` exports is `optimize.class_image`."""
    for found in _public_modules():
        for name, value in vars(found).items():
            if (not name.startswith("_") and inspect.isfunction(value)
                    and value.__module__ == found.__name__):
                yield f"{_home(found.__name__, name, value).removeprefix('lecture_utils.')}.{name}", value


def public_methods():
    """(name, method) of the public methods (and `forward`) of the public classes."""
    for found in _public_modules():
        for class_name, cls in vars(found).items():
            if class_name.startswith("_") or not inspect.isclass(cls) or cls.__module__ != found.__name__:
                continue
            for name, value in vars(cls).items():
                if (inspect.isfunction(value) and (not name.startswith("_") or name == "forward")
                        and value.__module__ == found.__name__):  # not matplotlib's generated Figure.set
                    yield f"{found.__name__.removeprefix('lecture_utils.')}.{class_name}.{name}", value


def _public_modules():
    for module in pkgutil.walk_packages(lecture_utils.__path__, "lecture_utils."):
        if not module.name.startswith(SKIPPED) and not module.name.rsplit(".", 1)[1].startswith("_"):
            yield importlib.import_module(module.name)


def _home(module, name, value):
    parent = module.rsplit(".", 1)[0]
    while parent != "lecture_utils" and getattr(importlib.import_module(parent), name, None) is value:
        module, parent = parent, parent.rsplit(".", 1)[0]
    return module


def test_the_package_has_public_functions_to_check():
    names = dict(public_functions())
    assert len(names) > 150 and "optimize.channel_image" in names and "adversarial.pgd" in names


def test_one_keyword_per_idea():
    found = []
    for name, function in public_functions():
        parameters = inspect.signature(function).parameters
        found += [f"{name}({old}=...): say {new}" for new, olds in ONE_NAME.items() for old in olds
                  if old in parameters]
    # methods too, but the loop's protocol (a parameterisation's noise, a transform) passes the
    # run's torch.Generator itself, which is rightly called generator
    for name, method in public_methods():
        parameters = inspect.signature(method).parameters
        found += [f"{name}({old}=...): say {new}" for new, olds in ONE_NAME.items() for old in olds
                  if old in parameters and old != "generator"]
    assert not found, "\n".join(found)


def test_the_network_comes_first():
    late = [name for name, function in public_functions()
            if "model" in (parameters := list(inspect.signature(function).parameters)) and parameters[0] != "model"]
    assert not late, late


def test_the_list_of_picture_taking_functions_is_current():
    functions = dict(public_functions())
    assert all(name in functions and "images" in inspect.signature(functions[name]).parameters
               for name in LISTS_OF_PICTURES)


def test_a_tensor_of_images_is_called_image():
    batches = [name for name, function in [*public_functions(), *public_methods()]
               if "images" in inspect.signature(function).parameters and name not in LISTS_OF_PICTURES]
    assert not batches, f"say image for a tensor (N, 3, H, W): {batches}"


def test_two_functions_do_not_share_a_name():
    """A name means one function wherever it is imported from (atlas's stored crops are not
    embedding's computed top patches; a widget's crop grid is not plotting's patch grid)."""
    homes = {}
    for name, function in public_functions():
        homes.setdefault(name.rsplit(".", 1)[1], set()).add(f"{function.__module__}.{function.__qualname__}")
    shared = {short: sorted(where) for short, where in homes.items() if len(where) > 1}
    assert not shared, shared
