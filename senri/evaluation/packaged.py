"""Real recordings with labels, from Debian packages: sounds and spoken languages.

`senri.evaluation.recorded` holds the recorded speech with transcripts; this module holds the
labelled recordings that `senri models eval sounds/...` and ``dialect/...`` print beside their
synthetic sets. ``scripts/setup.sh --dev`` installs the packages; nothing is downloaded at run
time, and a missing package raises `MissingSetError` naming it.

Sounds (`sound_clips`), each labelled by its file name with the UrbanSound8K class a listener
would give it, or ``none`` when no class fits:

- ``gcompris-qt-data``: the memory-sound activity's recordings (dog barks, a car engine started
  and stopped, rain, applause, a door, a train; Free Art License 1.2) and the farm animals'
  calls (GPL-3). They are read out of GCompris's Qt resource bundles (`senri.evaluation.rcc`).
- ``tuxpaint-stamps-default`` (GPL-2): a fire engine's siren, a dog, instruments, household
  machines, thunder, animals.
- Game and tool packages, unpacked without installing them (`senri.evaluation.debfiles`):
  car horns (``sumo-tools``, CC0-1.0; ``scorched3d-data``, GPL-2+; ``trophy-data``, GPL-2),
  gunfire (``freeciv-data``, ``triplea``, ``dopewars-data``, GPL-2+), a jackhammer
  (``simutrans-pak64``, Artistic-1.0), sirens (``scorched3d-data``; ``lincity-ng-data``,
  GPL-2+), idling engines (``netpanzer-data``, GPL-2+), a dog, and a school bell, a sports
  crowd and a factory that are none of the classes. Each is labelled by what its file name
  says it is; files whose names leave the class open were left out.
- Scratch's sound library (``scratch``, media CC-BY-SA-3.0): dog barks, instruments and
  music loops, and animals, household effects and human sounds that are none of the classes.
- Hedgewars's game sounds (``hedgewars-data``, GFDL-1.3; a water droplet CC-BY-SA-3.0): a
  pick hammer (jackhammer), a shotgun, a minigun and a gun, a recording of the Ride of the
  Valkyries, and 20 effects that are none of the classes (a whip, an explosion, a plane,
  steps, a blowtorch, a bee, a laugh, ...). Its "drillgun" is a drill *rocket* and is left out.

Of the ten urban classes, air_conditioner, children_playing and drilling have no recording
in any package we found, so they are in neither set.

Languages (`language_clips`): the prompts of the Asterisk telephone exchange in four languages,
each read by one professional speaker (en-US and es-MX by Allison Smith, CC-BY-SA-3.0; fr-CA
by June Wallack, CC-BY-SA-3.0; ru-RU, CC-BY-3.0), and KLettres's words and letters read by a
US and a British English speaker (``klettres-data``, GPL-2+). One or two speakers per language:
a check of the classifier on real voices, not a measure across speakers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from senri.evaluation.debfiles import DebFile, local, need
from senri.evaluation.rcc import read_rcc
from senri.evaluation.recorded import SR, MissingSetError, evenly, read_audio

GCOMPRIS = Path("/usr/share/gcompris-qt/rcc")
TUXPAINT = Path("/usr/share/tuxpaint/stamps")
ASTERISK = Path("/usr/share/asterisk/sounds")
KLETTRES = Path("/usr/share/klettres")
PACKAGES = {
    "gcompris": "gcompris-qt-data",
    "tuxpaint": "tuxpaint-stamps-default",
    "klettres": "klettres-data",
    "asterisk": "asterisk-core-sounds-{en,es,fr,ru}-g722",
}
"""The Debian packages the sets come from (``scripts/setup.sh --dev`` installs them)."""

_MEMORY = "memory-sound:gcompris/src/activities/memory-sound/resource/"
_FARM = "explore_farm_animals:gcompris/src/activities/explore_farm_animals/resource/animals/"
SOUNDS: tuple[tuple[str, str, str], ...] = (
    ("dog_bark", "gcompris", _MEMORY + "LRBark_1_LA_cut.ogg"),
    ("dog_bark", "gcompris", _MEMORY + "LRBark_3_LA_cut.ogg"),
    ("dog_bark", "gcompris", _FARM + "dog.ogg"),
    ("dog_bark", "tuxpaint", "animals/mammals/dogs/dog.ogg"),
    ("siren", "tuxpaint", "vehicles/emergency/firetruck.ogg"),
    ("engine_idling", "gcompris", _MEMORY + "LRStartAndStopCarEngine1LACut.ogg"),
    ("street_music", "tuxpaint", "hobbies/music/percussion/drumkit.ogg"),
    ("street_music", "tuxpaint", "hobbies/music/string/violin.ogg"),
    ("street_music", "tuxpaint", "hobbies/music/string/cello.ogg"),
    ("street_music", "tuxpaint", "hobbies/music/wind/bassoon.ogg"),
    ("street_music", "gcompris", _MEMORY + "guitar_son1.ogg"),
    ("none", "gcompris", _MEMORY + "LRApplauses_1_LA_cut.ogg"),
    ("none", "gcompris", _MEMORY + "LRRain_in_garden_01_LA_cut.ogg"),
    ("none", "gcompris", _MEMORY + "LRDoor_Open_2_LA.ogg"),
    ("none", "gcompris", _MEMORY + "LRFrogsInPondDuringStormLACut.ogg"),
    ("none", "gcompris", _MEMORY + "LRTrain_slowing_down_01_LA_cut.ogg"),
    ("none", "gcompris", _MEMORY + "LRObject_falling_02_LA.ogg"),
    ("none", "gcompris", _FARM + "cat.ogg"),
    ("none", "gcompris", _FARM + "cow.ogg"),
    ("none", "gcompris", _FARM + "horse.ogg"),
    ("none", "gcompris", _FARM + "sheep.ogg"),
    ("none", "gcompris", _FARM + "chickens.ogg"),
    ("none", "gcompris", _FARM + "duck.ogg"),
    ("none", "tuxpaint", "household/vacuum_cleaner.ogg"),
    ("none", "tuxpaint", "household/Washing-machine.ogg"),
    ("none", "tuxpaint", "household/toilet.ogg"),
    ("none", "tuxpaint", "household/tools/saw.ogg"),
    ("none", "tuxpaint", "naturalforces/lightningbolt.ogg"),
    ("none", "tuxpaint", "animals/birds/rooster.ogg"),
    ("none", "tuxpaint", "animals/birds/crow.ogg"),
    ("none", "tuxpaint", "animals/mammals/cats/lion.ogg"),
    ("none", "tuxpaint", "animals/mammals/elephant.ogg"),
    ("none", "tuxpaint", "animals/mammals/equines/horse.ogg"),
)
"""(urban label or "none", package, file): the package's file, or ``bundle:path`` inside one of
GCompris's ``.rcc`` bundles."""

_SC = "/usr/share/games/scorched3d/data/globalmods/apoc/data/wav/misc/"
_LC = "/usr/share/games/lincity-ng/sounds/"
_WW2 = "/usr/share/games/triplea/assets/sounds/ww2/battle_land/battle_land_"
_OLD = "/usr/share/games/triplea/assets/sounds/preindustrial/battle_land/battle_land_"
_SUMO = "/usr/share/sumo/tools/game/sounds/"
_FC = "/usr/share/games/freeciv/stdsounds/"
_NP = "/usr/share/games/netpanzer/sound/"
_ST = "/usr/share/games/simutrans/pak/sound/"
_SCR = "/usr/share/scratch/Media/Sounds/"
_LOOPS = _SCR + "Music Loops/"
_HW = "/usr/share/games/hedgewars/Data/Sounds/"
DEB_SOUNDS: tuple[tuple[str, DebFile], ...] = (
    ("car_horn", DebFile("sumo-tools", _SUMO + "car_horn1.wav", "4e5dbd39ae6b92e5")),
    ("car_horn", DebFile("sumo-tools", _SUMO + "car_horn2.wav", "0589f22d30e2ff97")),
    ("car_horn", DebFile("sumo-tools", _SUMO + "car_horn3.wav", "a17ffba1f884bf3f")),
    ("car_horn", DebFile("scorched3d-data", _SC + "carhorn1.wav", "ee191a257847265a")),
    ("car_horn", DebFile("scorched3d-data", _SC + "carhorn2.wav", "f2f4d233aba2d3ac")),
    ("car_horn", DebFile("scorched3d-data", _SC + "carhorn3.wav", "d7ae8f02d25b0212")),
    ("car_horn", DebFile("scorched3d-data", _SC + "carhorn4.wav", "a19b96c35a39c65d")),
    ("car_horn", DebFile("scorched3d-data", _SC + "carhorn5.wav", "fda73802d7fafadb")),
    ("car_horn", DebFile("scorched3d-data", _SC + "carhorn6.wav", "6ede322b8d03e365")),
    (
        "car_horn",
        DebFile("trophy-data", "/usr/share/games/trophy/sounds/carhorn.wav", "c7e9fe466853276d"),
    ),
    ("gun_shot", DebFile("freeciv-data", _FC + "MgBar1.ogg", "ef5deb30a2c593ea")),
    ("gun_shot", DebFile("freeciv-data", _FC + "MgBar2.ogg", "8ff3985749d2d0f6")),
    ("gun_shot", DebFile("triplea", _WW2 + "01_infantry_being_shot_at.mp3", "e488d6aa93ac7c41")),
    ("gun_shot", DebFile("triplea", _WW2 + "02_machine_gun_fire.mp3", "a925f9363de1ca9e")),
    (
        "gun_shot",
        DebFile(
            "triplea", _WW2 + "03_machine_gun_with_background_fighting.mp3", "48cd8e54758d09ab"
        ),
    ),
    ("gun_shot", DebFile("triplea", _OLD + "05_musket_volley.mp3", "8167ac7f22087dd3")),
    ("gun_shot", DebFile("dopewars-data", "/usr/share/dopewars/gun.wav", "5c7259f7b7a035d5")),
    ("jackhammer", DebFile("simutrans-pak64", _ST + "jackhammer.wav", "9272d310020ee274")),
    ("siren", DebFile("scorched3d-data", _SC + "policecar.wav", "51639ee94ebeb0b9")),
    ("siren", DebFile("scorched3d-data", _SC + "firetruck.wav", "33eb57e054972300")),
    ("siren", DebFile("lincity-ng-data", _LC + "FireStation3.wav", "1a2807d25dba915e")),
    ("engine_idling", DebFile("netpanzer-data", _NP + "tankidle.wav", "5d153fef446cd04f")),
    ("engine_idling", DebFile("netpanzer-data", _NP + "hevidle.wav", "17aac8a4b09b3082")),
    ("dog_bark", DebFile("scorched3d-data", _SC + "dog3.wav", "5102351d39d3eb5b")),
    ("none", DebFile("lincity-ng-data", _LC + "School2.wav", "250baeda2faafb43")),
    ("none", DebFile("lincity-ng-data", _LC + "SportsCroud1.wav", "5af0b6df049539d7")),
    ("none", DebFile("scorched3d-data", _SC + "factoryloop1.wav", "43858154da93b50f")),
    ("none", DebFile("scratch", _SCR + "Animal/Bird.wav", "5b130896c336a1bc")),
    ("none", DebFile("scratch", _SCR + "Animal/Cat.mp3", "449280071a04ad7f")),
    ("none", DebFile("scratch", _SCR + "Animal/Cricket.wav", "ca2e59fd858a1188")),
    ("none", DebFile("scratch", _SCR + "Animal/Crickets.wav", "c8eb37115f1e6672")),
    ("dog_bark", DebFile("scratch", _SCR + "Animal/Dog1.wav", "9c5cbb173c58e12b")),
    ("dog_bark", DebFile("scratch", _SCR + "Animal/Dog2.wav", "f9a29b2bb69d7321")),
    ("none", DebFile("scratch", _SCR + "Animal/Duck.wav", "e97d9d8cbd75e3b6")),
    ("none", DebFile("scratch", _SCR + "Animal/Goose.wav", "548e7ba4269ac439")),
    ("none", DebFile("scratch", _SCR + "Animal/Horse.wav", "24ff7147ab002fd2")),
    ("none", DebFile("scratch", _SCR + "Animal/HorseGallop.wav", "9a08b18e82e11009")),
    ("none", DebFile("scratch", _SCR + "Animal/Kitten.wav", "427afe9d62874d41")),
    ("none", DebFile("scratch", _SCR + "Animal/Meow.wav", "1bf1f08850470687")),
    ("none", DebFile("scratch", _SCR + "Animal/Owl.wav", "e71d20fdcc1c3984")),
    ("none", DebFile("scratch", _SCR + "Animal/Rooster.wav", "b80c374bdcdfdb15")),
    ("none", DebFile("scratch", _SCR + "Animal/SeaLion.mp3", "01dfbfc1103b7da9")),
    ("none", DebFile("scratch", _SCR + "Animal/WolfHowl.wav", "3c8788df01bb8cb7")),
    ("none", DebFile("scratch", _SCR + "Effects/BalloonScratch.mp3", "e3c0c08a735c8e06")),
    ("none", DebFile("scratch", _SCR + "Effects/BellToll.wav", "8c1c47c2629a95c4")),
    ("none", DebFile("scratch", _SCR + "Effects/Bubbles.wav", "f0da83b2d33e6732")),
    ("none", DebFile("scratch", _SCR + "Effects/DoorClose.mp3", "feab133134b34ad1")),
    ("none", DebFile("scratch", _SCR + "Effects/DoorCreak.wav", "28d106d47ed0e18f")),
    ("none", DebFile("scratch", _SCR + "Effects/Plunge.wav", "034d29acbfb9d6d1")),
    ("none", DebFile("scratch", _SCR + "Effects/Pop.wav", "c4e0340e0671d71d")),
    ("none", DebFile("scratch", _SCR + "Effects/Rattle.wav", "42352cfd678c23a8")),
    ("none", DebFile("scratch", _SCR + "Effects/Ripples.wav", "2828b8614bcdaf4d")),
    ("none", DebFile("scratch", _SCR + "Effects/SewingMachine.mp3", "75d40448ac012157")),
    ("none", DebFile("scratch", _SCR + "Effects/Typing.mp3", "1a63d6bf725ca930")),
    ("none", DebFile("scratch", _SCR + "Effects/WaterDrop.mp3", "94f94858056ffec4")),
    ("none", DebFile("scratch", _SCR + "Effects/WaterRunning.mp3", "b00591d9fe1e4bf0")),
    ("none", DebFile("scratch", _SCR + "Human/BabyCry.mp3", "44995a57baa6ba2d")),
    ("none", DebFile("scratch", _SCR + "Human/Cough-female.wav", "4816121b99099ae3")),
    ("none", DebFile("scratch", _SCR + "Human/Cough-male.wav", "44c01df16d3a7ddf")),
    ("none", DebFile("scratch", _SCR + "Human/FingerSnap.wav", "ce53a1743515d120")),
    ("none", DebFile("scratch", _SCR + "Human/Footsteps-1.wav", "2f3d59f709634bb6")),
    ("none", DebFile("scratch", _SCR + "Human/Footsteps-2.mp3", "a154dabeca0a632a")),
    ("none", DebFile("scratch", _SCR + "Human/Laugh-female.wav", "2a72276438740cda")),
    ("none", DebFile("scratch", _SCR + "Human/Laugh-male1.wav", "2c0c3ecfcdfda27c")),
    ("none", DebFile("scratch", _SCR + "Human/Laugh-male2.wav", "57b17bb5ed96e187")),
    ("none", DebFile("scratch", _SCR + "Human/Laugh-male3.mp3", "cf13c83ef692fd3b")),
    ("none", DebFile("scratch", _SCR + "Human/PartyNoise.wav", "c87c91db6e1660ac")),
    ("none", DebFile("scratch", _SCR + "Human/Scream-female.wav", "2953743e2ed99abd")),
    ("none", DebFile("scratch", _SCR + "Human/Scream-male1.wav", "e41bee9afae07888")),
    ("none", DebFile("scratch", _SCR + "Human/Scream-male2.mp3", "d506e426ef1c615a")),
    ("none", DebFile("scratch", _SCR + "Human/Slurp.mp3", "fec05359f82dc5eb")),
    ("none", DebFile("scratch", _SCR + "Human/Sneeze-female.wav", "f09108ed11eadcc8")),
    ("none", DebFile("scratch", _SCR + "Human/Sneeze-male.wav", "e2882515cb06d9b6")),
    ("street_music", DebFile("scratch", _SCR + "Instruments/AfroString.wav", "8990e6481ca2f55f")),
    ("street_music", DebFile("scratch", _SCR + "Instruments/Chord.wav", "06451cd1b683a840")),
    ("street_music", DebFile("scratch", _SCR + "Instruments/Dijjeridoo.mp3", "604576f489ab86cb")),
    ("street_music", DebFile("scratch", _SCR + "Instruments/GuitarStrum.wav", "6725c5b637a502d5")),
    ("street_music", DebFile("scratch", _SCR + "Instruments/SpookyString.wav", "eb878e59b372714a")),
    ("street_music", DebFile("scratch", _SCR + "Instruments/StringAccent.wav", "32d3994e51049528")),
    ("street_music", DebFile("scratch", _SCR + "Instruments/StringPluck.wav", "446dbbaed01f76e3")),
    ("street_music", DebFile("scratch", _SCR + "Instruments/Suspense.wav", "0b5b9592e8868593")),
    ("street_music", DebFile("scratch", _SCR + "Instruments/Tambura.wav", "7839e97036ca9dba")),
    ("street_music", DebFile("scratch", _SCR + "Instruments/Trumpet1.wav", "d37f1661c8296b4e")),
    ("street_music", DebFile("scratch", _SCR + "Instruments/Trumpet2.wav", "95ec8acdb0757c44")),
    ("street_music", DebFile("scratch", _LOOPS + "Cave.mp3", "3fd8dce4333f40fa")),
    ("street_music", DebFile("scratch", _LOOPS + "DripDrop.mp3", "6947fc238a63548b")),
    ("street_music", DebFile("scratch", _LOOPS + "Drum.mp3", "9fffb578711d7728")),
    ("street_music", DebFile("scratch", _LOOPS + "DrumMachine.mp3", "6f0d146b1f86284e")),
    ("street_music", DebFile("scratch", _LOOPS + "DrumSet1.mp3", "6dfdfd1e7fd2aac8")),
    ("street_music", DebFile("scratch", _LOOPS + "DrumSet2.mp3", "f2ae54eeffc9be1d")),
    ("street_music", DebFile("scratch", _LOOPS + "Eggs.mp3", "df4db25e79cee97d")),
    ("street_music", DebFile("scratch", _LOOPS + "Garden.mp3", "01eb74522006135f")),
    ("street_music", DebFile("scratch", _LOOPS + "GuitarChords1.mp3", "a0f66a0dcb736c06")),
    ("street_music", DebFile("scratch", _LOOPS + "GuitarChords2.mp3", "c3458d2374df9d4a")),
    ("street_music", DebFile("scratch", _LOOPS + "HipHop.mp3", "0a63cb69a84ed7d6")),
    ("street_music", DebFile("scratch", _LOOPS + "HumanBeatbox1.mp3", "751fb70cc41b6b89")),
    ("street_music", DebFile("scratch", _LOOPS + "HumanBeatbox2.mp3", "2e01507d05426731")),
    ("street_music", DebFile("scratch", _LOOPS + "Jungle.mp3", "2fb301236099e61e")),
    ("street_music", DebFile("scratch", _LOOPS + "Medieval1.mp3", "b3b04de9b8916c05")),
    ("street_music", DebFile("scratch", _LOOPS + "Medieval2.mp3", "35b075d4f61b569f")),
    ("street_music", DebFile("scratch", _LOOPS + "Techno.mp3", "1ff0ffbac6539b0e")),
    ("street_music", DebFile("scratch", _LOOPS + "Techno2.mp3", "038466ee254c072a")),
    ("street_music", DebFile("scratch", _LOOPS + "Triumph.mp3", "a73041465222fb1b")),
    ("street_music", DebFile("scratch", _LOOPS + "Xylo1.mp3", "c2399845a4f76c17")),
    ("street_music", DebFile("scratch", _LOOPS + "Xylo2.mp3", "19f58eb39fe11b26")),
    ("street_music", DebFile("scratch", _LOOPS + "Xylo3.mp3", "b6a2f3d40442ef1a")),
    ("street_music", DebFile("scratch", _LOOPS + "xylo4.mp3", "5db454218614ce5a")),
    ("jackhammer", DebFile("hedgewars-data", _HW + "pickhammer.ogg", "9d05cae6e15fbdbe")),
    ("gun_shot", DebFile("hedgewars-data", _HW + "shotgunfire.ogg", "d66c82ec5fc22110")),
    ("gun_shot", DebFile("hedgewars-data", _HW + "minigun.ogg", "3d58ede8074609b5")),
    ("gun_shot", DebFile("hedgewars-data", _HW + "gun.ogg", "9e1e9ec40e32c71c")),
    (
        "street_music",
        DebFile("hedgewars-data", _HW + "ride_of_the_valkyries.ogg", "ea059889aa16d41a"),
    ),
    ("none", DebFile("hedgewars-data", _HW + "hammer.ogg", "a59e30579ad3804a")),
    ("none", DebFile("hedgewars-data", _HW + "whipcrack.ogg", "7cf7630394a3fdb9")),
    ("none", DebFile("hedgewars-data", _HW + "explosion.ogg", "aee33af947cb88dd")),
    ("none", DebFile("hedgewars-data", _HW + "plane.ogg", "4647264220c766fb")),
    ("none", DebFile("hedgewars-data", _HW + "steps.ogg", "b28254d15931ccbf")),
    ("none", DebFile("hedgewars-data", _HW + "splash.ogg", "87843a024463f82b")),
    ("none", DebFile("hedgewars-data", _HW + "Droplet1.ogg", "06fb208feffdb8b2")),
    ("none", DebFile("hedgewars-data", _HW + "steam.ogg", "fab6b57a8aa42c62")),
    ("none", DebFile("hedgewars-data", _HW + "Whistle.ogg", "ea1454e8bca7246d")),
    ("none", DebFile("hedgewars-data", _HW + "baseballbat.ogg", "9e9f7c95a93568d0")),
    ("none", DebFile("hedgewars-data", _HW + "blowtorch.ogg", "6d6814fceb55da37")),
    ("none", DebFile("hedgewars-data", _HW + "flamethrower.ogg", "a446b10f04db8c0e")),
    ("none", DebFile("hedgewars-data", _HW + "egg.ogg", "28b8b7700033567f")),
    ("none", DebFile("hedgewars-data", _HW + "molotov.ogg", "f58c1de4b1666eee")),
    ("none", DebFile("hedgewars-data", _HW + "bee.ogg", "33cd9b8d8b35dc0a")),
    ("none", DebFile("hedgewars-data", _HW + "shutterclick.ogg", "a984e7c731059e61")),
    ("none", DebFile("hedgewars-data", _HW + "shotgunreload.ogg", "1c43e9da0f599d4c")),
    ("none", DebFile("hedgewars-data", _HW + "parachute.ogg", "31b0c9483b19646f")),
    ("none", DebFile("hedgewars-data", _HW + "Kiss.ogg", "0bd236e4d655b26d")),
    ("none", DebFile("hedgewars-data", _HW + "voices/Default/Laugh.ogg", "ee514fe4ec07362a")),
    ("none", DebFile("scratch", _SCR + "Percussion/HandClap.wav", "3156e1aa9551cec5")),
)
"""(urban label or "none", file) of the game and tool packages' recordings, and of Scratch's
sound library (its animals, effects, human sounds, instruments and music loops). Left out
because their names do not settle the class: lincity's "School3" (voices that may be children
at play) and "MonumentConstruction" (impacts that may be a jackhammer or an engine), and
Scratch's "CarPassing" and "MotorcyclePassing" (engines, but not idling), its electronic
effects (synthesised, not recorded), vocals, and percussion hits other than a hand clap."""


def deb_files() -> list[DebFile]:
    """Every Debian file the sets read through `senri.evaluation.debfiles`."""
    return [f for _, f in DEB_SOUNDS]


LANGUAGES: tuple[tuple[str, str, str], ...] = (
    # (dialect label, or a cluster when the classifier has no such label; source; folder)
    ("en-us", "asterisk", "en_US_f_Allison"),
    ("es-419", "asterisk", "es_MX_f_Allison"),
    ("french", "asterisk", "fr_CA_f_June"),
    ("ru", "asterisk", "ru_RU_f_IvrvoiceRU"),
    ("en-us", "klettres", "en"),
    ("en-gb", "klettres", "en_GB"),
)
"""Where each language's recordings are. fr-CA has no label of its own among the classifier's
(fr-fr, fr-be, fr-ch), so only its cluster can be right."""


@dataclass(frozen=True)
class Labelled:
    """One recording: the answer expected, the set it belongs to, its name, 16 kHz audio."""

    label: str
    source: str
    name: str
    audio: npt.NDArray[np.float32]

    @property
    def seconds(self) -> float:
        return len(self.audio) / SR


def _decoded(data: bytes, name: str) -> npt.NDArray[np.float32]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(data)
        return read_audio(path)


def _need(folder: Path, package: str) -> None:
    if not folder.is_dir():
        raise MissingSetError(f"install Debian's {package} (scripts/setup.sh --dev)")


def sound_clips(
    gcompris: Path = GCOMPRIS, tuxpaint: Path = TUXPAINT, debian: Path | None = None
) -> list[Labelled]:
    """`SOUNDS` and `DEB_SOUNDS` (fetched under `debian`, default ``$SENRI_CACHE/debian``),
    read and resampled to 16 kHz mono."""
    _need(gcompris, PACKAGES["gcompris"])
    _need(tuxpaint, PACKAGES["tuxpaint"])
    need(deb_files(), debian)
    bundles: dict[str, set[str]] = {}
    for _, source, where in SOUNDS:
        if source == "gcompris":
            bundle, inner = where.split(":", 1)
            bundles.setdefault(bundle, set()).add(inner)
    inside = {
        f"{bundle}:{path}": data
        for bundle, wanted in bundles.items()
        for path, data in read_rcc(gcompris / f"{bundle}.rcc", wanted).items()
    }
    clips = []
    for label, source, where in SOUNDS:
        audio = (
            _decoded(inside[where], where) if source == "gcompris" else read_audio(tuxpaint / where)
        )
        clips.append(Labelled(label, source, Path(where).stem, audio))
    for label, f in DEB_SOUNDS:
        clips.append(Labelled(label, f.package, Path(f.path).stem, read_audio(local(f, debian))))
    return clips


def _asterisk(folder: Path, per_language: int, min_seconds: float) -> list[tuple[str, Path]]:
    files = sorted(folder.glob("*.g722")) or sorted(folder.glob("*.wav"))
    long = [p for p in files if p.stat().st_size >= min_seconds * 8000]  # G.722: 8 kB/s
    return [(long[i].stem, long[i]) for i in evenly(len(long), per_language)]


def _klettres(folder: Path) -> list[tuple[str, Path]]:
    files = sorted(folder.glob("syllab/*.ogg")) + sorted(folder.glob("alpha/*.ogg"))
    return [(f"{p.parent.name}/{p.stem}", p) for p in files]


def language_clips(
    per_language: int = 30,
    min_seconds: float = 1.5,
    asterisk: Path = ASTERISK,
    klettres: Path = KLETTRES,
    sources: Iterable[str] = ("asterisk", "klettres"),
) -> list[Labelled]:
    """`LANGUAGES`: `per_language` Asterisk prompts of at least `min_seconds` each (spread
    evenly, the same every time), and every KLettres word and letter."""
    wanted = set(sources)
    clips: list[Labelled] = []
    for label, source, folder in LANGUAGES:
        if source not in wanted:
            continue
        root = asterisk if source == "asterisk" else klettres
        _need(root / folder, PACKAGES[source])
        files = (
            _asterisk(root / folder, per_language, min_seconds)
            if source == "asterisk"
            else _klettres(root / folder)
        )
        clips.extend(
            Labelled(label, f"{source} {folder}", name, read_audio(path)) for name, path in files
        )
    return clips
